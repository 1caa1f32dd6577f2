# syntax=docker/dockerfile:1
# One image for every service; the command picks the service at run time, e.g.
#   docker run IMAGE prio-stream serve verifier
# Build (version.json per Dockerflow; see docs/deployment.md):
#   docker build --build-arg COMMIT="$(git rev-parse HEAD)" -t prio-stream .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: compiles libprio_ctypes/csrc against libcrypto, wheels of everything pinned
FROM ${PYTHON_IMAGE} AS builder
# Debian's current security release of each package; the base image tag fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libssl-dev \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY deploy/docker/runtime-constraints.txt /src/runtime-constraints.txt
COPY pyproject.toml setup.py README.md /src/
COPY libprio_ctypes /src/libprio_ctypes
COPY prio_cli /src/prio_cli
COPY services /src/services
RUN pip wheel --constraint runtime-constraints.txt --wheel-dir /wheels . \
 && ls /wheels/prio_stream-*.whl

# --- runtime: no compilers, libssl3 for libprio.so, non-root
FROM ${PYTHON_IMAGE} AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 prio \
 && useradd --system --uid 10001 --gid prio --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin prio \
 && mkdir -p /app /var/lib/prio-stream \
 && chown prio:prio /var/lib/prio-stream
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    LOCAL_STORAGE_DIR=/var/lib/prio-stream
COPY deploy/docker/runtime-constraints.txt /tmp/runtime-constraints.txt
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels --constraint /tmp/runtime-constraints.txt \
      /wheels/prio_stream-*.whl \
 && rm /tmp/runtime-constraints.txt \
 && prio-stream --help > /dev/null \
 && prio --help > /dev/null
COPY deploy/docker/healthcheck.py /usr/local/bin/prio-healthcheck

# Dockerflow: /app/version.json, served by every service at /__version__.
ARG SOURCE=https://github.com/prio-stream/prio-stream
ARG VERSION=
ARG COMMIT=unknown
ARG BUILD=
WORKDIR /app
RUN python -c "import importlib.metadata as m, json, os; \
json.dump({'source': os.environ['SOURCE'], \
'version': os.environ['VERSION'] or m.version('prio-stream'), \
'commit': os.environ['COMMIT'], 'build': os.environ['BUILD']}, open('/app/version.json', 'w'))" \
 && chmod 0444 /app/version.json

USER 10001:10001
EXPOSE 8080
# Cloud Run ignores HEALTHCHECK: its startup and liveness probes (deploy/terraform) ask the
# same endpoint. One-shot commands (setup, loadgen, dead-letters) run without it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "/usr/local/bin/prio-healthcheck"]
CMD ["prio-stream", "--help"]
