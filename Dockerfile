# syntax=docker/dockerfile:1
# triagebot image: a builder stage installs the package into a venv; the final stage is a slim
# Python with the venv, the tools the probes run (ssh, dig, curl), and no compiler.
#   docker build -t triagebot:0.1.0 .
#   docker run --rm -e SLACK_BOT_TOKEN=... -e SLACK_APP_TOKEN=... triagebot:0.1.0   # start
#   docker run --rm triagebot:0.1.0 dig example.com
# The base is pinned by tag and by digest: the digest is what is pulled, the tag says what it
# is. This one is the multi-platform index of python:3.11.15-slim-bookworm as recorded by the
# Docker official images' repo-info (docker-library/repo-info, repos/python/remote/
# 3.11.15-slim-bookworm.md, commit 3effc3eac4f65a99767fd721667a1bf157496ba4). To move it: new
# tag, then its index digest from `docker buildx imagetools inspect python:TAG` (or repo-info),
# both in this line; a mirror's digest goes in with --build-arg PYTHON_IMAGE=...@sha256:...
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm@sha256:d29f48a31a8b408ed19272ca1e7b10ebae13b240a27e862d3d4217c528e2e0c3

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# Compilers only here, for any dependency without a wheel for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every dependency, and the build backend, from the lock: exact versions, each file checked
# against its sha256 (`make lock` regenerates it from pyproject.toml).
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY ssh_probes ./ssh_probes
# A regular (non-editable) install of the project alone, built with the locked setuptools:
# the final stage needs /opt/venv only, not /src.
RUN pip install --no-deps --no-build-isolation . \
 && triagebot --help >/dev/null

FROM ${PYTHON_IMAGE} AS final
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRIAGEBOT_PORT=3000
# The probes' tools: ssh (and ssh-keyscan), dig, curl; CA certificates for HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client bind9-dnsutils curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Numeric ids so Kubernetes can verify runAsNonRoot; they match the chart's podSecurityContext.
RUN groupadd --system --gid 10001 triagebot \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/triagebot \
      --shell /usr/sbin/nologin triagebot
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
WORKDIR /home/triagebot
EXPOSE 3000
ENTRYPOINT ["triagebot"]
CMD ["start"]
