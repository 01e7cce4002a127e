"""Fixed names shared by the CRD, the renderer and the controller loop.

Pure constants only; the CRD YAML in charts/ must agree with these (a test checks it).
"""

from __future__ import annotations

GROUP = "router.link-assistant.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "RouterConfig"
PLURAL = "routerconfigs"

FIELD_MANAGER = "link-assistant-router-controller"
SIDECAR_FIELD_MANAGER = "link-assistant-router-sidecar"
"""Owns only the fields the sidecar adds to an app's pod template, so it can take exactly them away."""
APP_NAME = "link-assistant-router"

CONFIG_HASH_ANNOTATION = f"{GROUP}/config-hash"
CONFIG_FILE_NAME = "router.lino"
CONFIG_MOUNT_DIR = "/etc/link-assistant-router"
CONFIG_PATH = f"{CONFIG_MOUNT_DIR}/{CONFIG_FILE_NAME}"

DEFAULT_IMAGE = "ghcr.io/link-assistant/router-python:0.1.0"
DEFAULT_CLAUDE_HOME = "/data/claude"
DEFAULT_DATA_DIR = "/data/router"
GATEWAY_UID = 10001
GATEWAY_HOME = "/home/router"
