"""Per-pod identity: the Unix socket may be bound to one tenant key (`server: default-key-file`).

A sidecar's app then needs no key at all: a request that arrives on the socket without an `la_sk_`
key of its own (none, or the placeholder an SDK insists on) is authorized as the bound key, with its
budget, expiry and revocation checked as usual. Over TCP nothing changes: a key is still required,
because anything in the pod's network namespace (or beyond) can reach the port, while only processes
allowed by the socket file's mode can reach the socket. A key the app does send is verified as sent.
Pure apart from reading the key file once at start-up; never logs or echoes the key.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from gateway.context import GATEWAY
from gateway.tokens.jwt_codec import PREFIX


class KeyFileError(ValueError):
    """The default key file cannot be used (message names the file, never its content)."""


def read_default_key(path: str | None) -> str | None:
    """The bound key, or None when the socket is not bound to one."""
    if not path:
        return None
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        message = f"ROUTER_DEFAULT_KEY_FILE: default-key-file {path}: cannot read it ({reason})"
        raise KeyFileError(message) from None
    if not key.startswith(PREFIX):
        raise KeyFileError(
            f"default-key-file {path}: it must hold one {PREFIX} key (issue one with `tokens issue`)"
        )
    return key


def arrived_on_socket(request: web.Request) -> bool:
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    return sock is not None and sock.family == socket.AF_UNIX


def presents_own_key(headers: Mapping[str, str]) -> bool:
    authorization = headers.get("authorization") or ""
    if authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :].startswith(PREFIX)
    return (headers.get("x-api-key") or "").startswith(PREFIX)


def credential_headers(request: web.Request) -> Mapping[str, str]:
    """The headers to authorize this request with: its own, or the bound key on the socket."""
    ctx = request.app.get(GATEWAY)  # an app built around the pipeline alone has no gateway settings
    bound_key = ctx.socket_key if ctx is not None else None
    if bound_key is None or presents_own_key(request.headers) or not arrived_on_socket(request):
        return request.headers
    return {"x-api-key": bound_key}
