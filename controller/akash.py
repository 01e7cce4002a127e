"""Render an Akash SDL (v2.0) for one gateway from a RouterConfig (pure).

Akash has no ConfigMaps or Secrets: the DSL text travels base64-encoded in an env var and the container
writes it to a file before `serve`; every secret the config references becomes a placeholder env entry
the operator must replace before deploying (the same convention as the seed's SDL).
"""

from __future__ import annotations

import base64
from typing import Any

from controller import names
from controller.podspec import claude_home, data_dir, secret_env
from controller.spec import RouterConfigResource
from dsl.model import RouterConfig

SERVICE = "router"
PLACEMENT = "dcloud"
CONFIG_FILE = "/tmp/router.lino"
BOOT = (
    f'printf %s "$ROUTER_CONFIG_B64" | base64 -d > {CONFIG_FILE}'
    f" && exec link-assistant-router serve --config {CONFIG_FILE}"
)


def placeholder(env: str) -> str:
    return f"replace-with-{env.lower().replace('_', '-')}"


def _resources(resource: RouterConfigResource) -> dict[str, Any]:
    limits = resource.resources.get("limits") or resource.resources.get("requests") or {}
    return {
        "cpu": {"units": limits.get("cpu", "0.5")},
        "memory": {"size": limits.get("memory", "512Mi")},
        "storage": [
            {"size": "1Gi"},
            {"name": "data", "size": "2Gi", "attributes": {"persistent": True, "class": "beta3"}},
        ],
    }


def render_sdl(resource: RouterConfigResource, config: RouterConfig) -> dict[str, Any]:
    """The SDL document for this gateway: HTTP exposed globally on port 80, admin gRPC kept private."""
    encoded = base64.b64encode(resource.config.encode()).decode()
    env = [
        f"ROUTER_CONFIG_B64={encoded}",
        f"CLAUDE_CODE_HOME={claude_home(config)}",
        f"DATA_DIR={data_dir(config)}",
        *(f"{item['name']}={placeholder(item['name'])}" for item in secret_env(resource, config)),
    ]
    return {
        "version": "2.0",
        "services": {
            SERVICE: {
                "image": resource.image,
                "command": ["sh", "-c"],
                "args": [BOOT],
                "env": env,
                "expose": [{"port": config.server.port, "as": 80, "to": [{"global": True}]}],
                "params": {"storage": {"data": {"mount": data_dir(config), "readOnly": False}}},
            }
        },
        "profiles": {
            "compute": {SERVICE: {"resources": _resources(resource)}},
            "placement": {PLACEMENT: {"pricing": {SERVICE: {"denom": "uakt", "amount": 1000}}}},
        },
        "deployment": {SERVICE: {PLACEMENT: {"profile": SERVICE, "count": max(1, resource.replicas)}}},
    }


def sdl_header(resource: RouterConfigResource) -> str:
    return (
        f"# Akash SDL for the Link.Assistant.Router gateway {resource.name!r}, rendered from its config.\n"
        "# Replace every `replace-with-…` value before deploying; the admin gRPC port is not exposed.\n"
        f"# Image: {resource.image} (built from the Dockerfile; runs as a non-root user).\n"
        f"# Source: {names.APP_NAME} config render --target akash\n"
    )
