# syntax=docker/dockerfile:1
# Link.Assistant.Router (Python): one image for the gateway (`serve`, the default) and the Kubernetes
# controller (`controller`). Two stages: build a virtualenv with the package, then copy only that venv
# into a slim runtime that runs as an unprivileged user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/router
COPY pyproject.toml README.md ./
COPY dsl ./dsl
COPY gateway ./gateway
COPY controller ./controller
COPY link_assistant_router_admin ./link_assistant_router_admin
RUN /opt/router/bin/pip install --no-compile . \
 && /opt/router/bin/python -m compileall -q /opt/router/lib

FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="link-assistant-router" \
      org.opencontainers.image.description="LLM API gateway: Anthropic/OpenAI-compatible proxy with per-user keys" \
      org.opencontainers.image.licenses="Unlicense"
RUN groupadd --gid 10001 router \
 && useradd --uid 10001 --gid 10001 --home-dir /home/router --create-home --shell /usr/sbin/nologin router \
 && mkdir -p /data/claude /data/router \
 && chown -R 10001:10001 /data
COPY --from=build /opt/router /opt/router
# As the seed image: Claude Code credentials are mounted at /data/claude. The HTTP port is left to the
# config file (an ROUTER_PORT here would outrank it); 8080 is the default.
ENV PATH=/opt/router/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CLAUDE_CODE_HOME=/data/claude \
    DATA_DIR=/data/router
USER 10001:10001
WORKDIR /home/router
EXPOSE 8080 9090
VOLUME ["/data/router"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('ROUTER_PORT', '8080'); sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:' + port + '/health', timeout=3).status == 200 else 1)"]
ENTRYPOINT ["link-assistant-router"]
CMD ["serve"]
