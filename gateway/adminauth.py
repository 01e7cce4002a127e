"""Who may call admin endpoints (HTTP `/api/tokens*`, `/api/providers*`, and the gRPC admin API).

Closed by default (unlike the seed, which leaves it open): with no admin key configured only loopback peers
are admitted; with a key (`TOKEN_ADMIN_KEY` / `--admin-key`) every caller, loopback included,
must send `Authorization: Bearer <key>`, compared in constant time. Pure apart from reading the
key reference; never logs or echoes the key.

A key that is configured (`admin-key-file`, `admin-key-env`) but cannot be read (file missing or
empty, variable unset) is never taken as "no key": start-up refuses it (`unreadable_admin_key`),
and if it disappears while running every admin call fails closed with 503 until it is back.

Note: behind a reverse proxy on the same host every client looks like loopback; set a key there.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

from dsl.model import RouterConfig
from gateway.credentials.secrets import resolve_secret
from gateway.errors import GatewayError

MISSING_KEY_MESSAGE = "missing or invalid admin Bearer key"
KEY_UNREADABLE_MESSAGE = (
    "the configured admin key cannot be read (file missing or empty, or variable unset); "
    "admin endpoints are closed until it is restored"
)
LOOPBACK_ONLY_MESSAGE = (
    "admin endpoints only answer loopback clients unless an admin key (TOKEN_ADMIN_KEY) is configured"
)


def admin_key(config: RouterConfig, environ: Mapping[str, str]) -> str | None:
    """The configured admin key, or None when none is configured (an empty `TOKEN_ADMIN_KEY`
    counts as unset, as in the seed). A configured key that cannot be read is a 503, never None:
    None would open admin to loopback callers."""
    if config.admin.admin_key is not None:
        key = resolve_secret(config.admin.admin_key, environ)
        if key is None:
            raise GatewayError(503, "api_error", KEY_UNREADABLE_MESSAGE)
        return key
    return environ.get("TOKEN_ADMIN_KEY") or None


def unreadable_admin_key(config: RouterConfig, environ: Mapping[str, str]) -> str | None:
    """Start-up check: what is wrong with a configured admin key that cannot be read (None: fine)."""
    ref = config.admin.admin_key
    if ref is None or resolve_secret(ref, environ) is not None:
        return None
    if ref.env:
        return f"the admin key variable {ref.env} is unset or empty"
    if ref.file:
        return f"the admin key file {ref.file} is missing, unreadable or empty"
    return "the admin key is empty"


def is_loopback(peer: str | None) -> bool:
    if not peer:
        return False
    host = peer.split("%", 1)[0]  # drop an IPv6 zone id
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def bearer(authorization: str | None) -> str | None:
    if authorization is None or not authorization.startswith("Bearer "):
        return None
    return authorization[len("Bearer ") :]


def keys_match(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def check_admin(authorization: str | None, peer: str | None, key: str | None) -> None:
    """Raise `GatewayError` unless this caller may use admin endpoints."""
    if key:
        presented = bearer(authorization)
        if presented is None or not keys_match(presented, key):
            raise GatewayError(401, "authentication_error", MISSING_KEY_MESSAGE)
        return
    if not is_loopback(peer):
        raise GatewayError(403, "permission_error", LOOPBACK_ONLY_MESSAGE)
