"""Render an Akash SDL (v2.0) for one gateway from a RouterConfig (pure).

Akash has no ConfigMaps, Secrets or secret files: the DSL text travels base64-encoded in an env var and
the container writes it to a file before `serve`, and every secret the config references arrives as an
env var the operator fills in before deploying (`NAME=replace-with-…`, the seed's SDL convention). A
`*-file PATH` secret is rewritten to `*-env NAME` in the embedded config, so the gateway reads the same
secret from the environment instead of a file Akash could not provide. Without Redis the token store
lives on a persistent volume.
"""

from __future__ import annotations

import base64
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from controller import names
from controller.persistence import wants_claim
from controller.podspec import (
    claude_home,
    credential_dirs,
    data_dir,
    env_secret_names,
    file_secret_paths,
    secret_env,
)
from controller.spec import RouterConfigResource
from dsl.config import load_config
from dsl.errors import DslError, Problem
from dsl.model import RouterConfig

SERVICE = "router"
PLACEMENT = "dcloud"
CONFIG_FILE = "/tmp/router.lino"
BOOT = (
    f'printf %s "$ROUTER_CONFIG_B64" | base64 -d > {CONFIG_FILE}'
    f" && exec link-assistant-router serve --config {CONFIG_FILE}"
)
_FILE_LINE = re.compile(
    r"^(?P<lead>\s*(?P<key>[a-z][a-z0-9-]*)-file)(?P<gap>\s+)(?P<q>[\"']?)(?P<path>[^\"'#]+?)(?P=q)"
    r"(?P<tail>\s*(#.*)?)$"
)


@dataclass(frozen=True)
class AkashConfig:
    """The config as it runs on Akash: its text, the model, and which env var replaced which file."""

    text: str
    config: RouterConfig
    replaced: tuple[tuple[str, str], ...]
    """(file path, env var) pairs."""


def placeholder(env: str) -> str:
    return f"replace-with-{env.lower().replace('_', '-')}"


def _env_name(path: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", posixpath.basename(path)).strip("_").upper() or "SECRET"
    if name[0].isdigit():
        name = f"SECRET_{name}"
    while name in taken:
        name += "_FILE"
    return name


def files_to_env(text: str, config: RouterConfig, source: str) -> AkashConfig | Problem:
    """Rewrite every `*-file PATH` secret line of the DSL text to `*-env NAME`; a Problem if one is left."""
    paths = file_secret_paths(config)
    if not paths:
        return AkashConfig(text, config, ())
    taken = set(env_secret_names(config))
    env_of: dict[str, str] = {}
    for path in paths:
        env_of[path] = _env_name(path, taken)
        taken.add(env_of[path])
    lines = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = _FILE_LINE.match(body)
        if match and match.group("path").strip() in env_of:
            lead = match.group("lead").removesuffix("-file") + "-env"
            body = f"{lead}{match.group('gap')}{env_of[match.group('path').strip()]}{match.group('tail')}"
        lines.append(body + line[len(line.rstrip("\r\n")) :])
    rewritten = "".join(lines)
    try:
        converted = load_config(rewritten, source)
    except DslError:
        converted = None
    if converted is None or file_secret_paths(converted):
        left = ", ".join(file_secret_paths(converted) if converted else paths)
        return Problem(
            f"Akash has no secret files, and the secret file reference(s) {left} could not be turned into "
            "environment variables",
            file=source,
            hint="write them as `…-env NAME` for Akash",
        )
    return AkashConfig(rewritten, converted, tuple(sorted(env_of.items())))


def _resources(resource: RouterConfigResource, config: RouterConfig) -> dict[str, Any]:
    limits = resource.resources.get("limits") or resource.resources.get("requests") or {}
    storage: list[dict[str, Any]] = [{"size": "1Gi"}]
    if wants_claim(config):
        # The token store outlives a restart only on a persistent volume (beta3: the SSD class).
        storage.append(
            {
                "name": "data",
                "size": resource.storage.size,
                "attributes": {"persistent": True, "class": "beta3"},
            }
        )
    return {
        "cpu": {"units": limits.get("cpu", "0.5")},
        "memory": {"size": limits.get("memory", "512Mi")},
        "storage": storage,
    }


def render_sdl(resource: RouterConfigResource, akash: AkashConfig) -> dict[str, Any]:
    """The SDL document for this gateway: HTTP exposed globally on port 80, admin gRPC kept private."""
    config = akash.config
    encoded = base64.b64encode(akash.text.encode()).decode()
    env = [
        f"ROUTER_CONFIG_B64={encoded}",
        f"CLAUDE_CODE_HOME={claude_home(config)}",
        f"DATA_DIR={data_dir(config)}",
        *(f"{item['name']}={placeholder(item['name'])}" for item in secret_env(resource, config)),
    ]
    service: dict[str, Any] = {
        "image": resource.image,
        "command": ["sh", "-c"],
        "args": [BOOT],
        "env": env,
        "expose": [{"port": config.server.port, "as": 80, "to": [{"global": True}]}],
    }
    if wants_claim(config):
        service["params"] = {"storage": {"data": {"mount": data_dir(config), "readOnly": False}}}
    return {
        "version": "2.0",
        "services": {SERVICE: service},
        "profiles": {
            "compute": {SERVICE: {"resources": _resources(resource, config)}},
            "placement": {PLACEMENT: {"pricing": {SERVICE: {"denom": "uakt", "amount": 1000}}}},
        },
        "deployment": {SERVICE: {PLACEMENT: {"profile": SERVICE, "count": max(1, resource.replicas)}}},
    }


def sdl_header(resource: RouterConfigResource, akash: AkashConfig) -> str:
    lines = [
        f"# Akash SDL for the Link.Assistant.Router gateway {resource.name!r}, rendered from its config.",
        "# Replace every `replace-with-…` value before deploying; the admin gRPC port is not exposed.",
        f"# Image: {resource.image} (built from the Dockerfile; runs as a non-root user).",
        f"# Source: {names.APP_NAME} config render --target akash",
    ]
    for path, env in akash.replaced:
        lines.append(f"# The secret file {path} of the config is read from {env} here (Akash has no files).")
    for account, home in credential_dirs(akash.config):
        lines.append(
            f"# Account {account!r} reads Claude credentials from {home}: Akash cannot mount them, so it "
            "stays unhealthy unless they are put there."
        )
    return "\n".join(lines) + "\n"
