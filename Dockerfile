# syntax=docker/dockerfile:1
# triagebot image: a builder stage installs the package into a venv; the final stage is a slim
# Python with the venv, the tools the probes run (ssh, dig, curl), and no compiler.
#   docker build -t triagebot:0.1.0 .
#   docker run --rm -e SLACK_BOT_TOKEN=... -e SLACK_APP_TOKEN=... triagebot:0.1.0   # start
#   docker run --rm triagebot:0.1.0 dig example.com
# Pinned by version; pin by digest too in your registry mirror (python:3.11.13-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# Compilers only here, for any dependency without a wheel for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY ssh_probes ./ssh_probes
# A regular (non-editable) install: the final stage needs /opt/venv only, not /src.
RUN pip install --upgrade pip \
 && pip install . \
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
