# syntax=docker/dockerfile:1
# Link.Assistant.Router (Python): two images from one recipe.
#   docker build -t ghcr.io/link-assistant/router-python:0.1.0 .            the gateway (the default target)
#   docker build --target controller -t ghcr.io/link-assistant/router-python-controller:0.1.0 .
# Reproducible: the base image is pinned by digest and every Python dependency by requirements.lock
# (`make lock`), used as pip constraints. The gateway image carries neither the Kubernetes client (only the
# controller needs it) nor grpcio-tools (only code generation does). Both run as an unprivileged user.

ARG PYTHON_BASE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${PYTHON_BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/router
COPY requirements.lock pyproject.toml README.md ./
COPY dsl ./dsl
COPY gateway ./gateway
COPY controller ./controller
COPY link_assistant_router_admin ./link_assistant_router_admin
RUN /opt/router/bin/pip install --no-compile --constraint requirements.lock . \
 && /opt/router/bin/python -m compileall -q /opt/router/lib

FROM build AS build-controller
RUN /opt/router/bin/pip install --no-compile --constraint requirements.lock ".[controller]" \
 && /opt/router/bin/python -m compileall -q /opt/router/lib

FROM ${PYTHON_BASE} AS runtime
LABEL org.opencontainers.image.title="link-assistant-router" \
      org.opencontainers.image.description="LLM API gateway: Anthropic/OpenAI-compatible proxy with per-user keys" \
      org.opencontainers.image.licenses="Unlicense"
RUN groupadd --gid 10001 router \
 && useradd --uid 10001 --gid 10001 --home-dir /home/router --create-home --shell /usr/sbin/nologin router \
 && mkdir -p /data/claude /data/router \
 && chown -R 10001:10001 /data
# As the seed image: Claude Code credentials are mounted at /data/claude. The HTTP port is left to the
# config file (an ROUTER_PORT here would outrank it); 8080 is the default. serve writes the port it bound
# to ROUTER_LISTEN_FILE, so the HEALTHCHECK probes the effective port whatever flags or config set it.
ENV PATH=/opt/router/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CLAUDE_CODE_HOME=/data/claude \
    DATA_DIR=/data/router \
    ROUTER_LISTEN_FILE=/tmp/link-assistant-router.port
USER 10001:10001
WORKDIR /home/router
ENTRYPOINT ["link-assistant-router"]

FROM runtime AS controller
COPY --from=build-controller /opt/router /opt/router
CMD ["controller"]

FROM runtime AS gateway
COPY --from=build /opt/router /opt/router
EXPOSE 8080 9090
VOLUME ["/data/router"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-m", "gateway.cli.healthcheck"]
CMD ["serve"]
