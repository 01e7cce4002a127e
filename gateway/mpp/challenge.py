"""MPP charge challenges: issuing, rendering and checking them. Pure (no I/O, the clock is a parameter).

A challenge is stateless: its `id` is an HMAC over the other parameters (realm, method, intent,
request, expires, digest, opaque: seven `|`-joined slots, absent ones empty), so a credential that
echoes a challenge back proves it came from us unaltered without a lookup. `request` is base64url
(no padding) of the JCS (RFC 8785) serialisation of the charge: amount, currency, recipient.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

INTENT = "charge"
CHALLENGE_FIELDS = ("id", "realm", "method", "intent", "request", "expires", "digest", "opaque")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding (padding tolerated); ValueError on anything else."""
    stripped = text.rstrip("=")
    if any(ch not in _B64URL for ch in stripped):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON for the values used here (strings, integers, objects, arrays):
    sorted keys, no whitespace, UTF-8. Floats are refused rather than canonicalised differently."""
    _no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("JCS numbers other than integers are not used here")
    if isinstance(value, dict):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _no_floats(item)


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch; ValueError when `text` is not an RFC 3339 time with an offset."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("an RFC 3339 time needs an offset")
    return moment.timestamp()


@dataclass(frozen=True)
class Charge:
    """What one request costs: `amount` as configured (a positive number), currency, recipient."""

    amount: str
    currency: str
    recipient: str

    def request_b64(self) -> str:
        return b64url(jcs({"amount": self.amount, "currency": self.currency, "recipient": self.recipient}))


@dataclass(frozen=True)
class Challenge:
    id: str
    realm: str
    method: str
    intent: str
    request: str
    expires: str = ""
    digest: str = ""
    opaque: str = ""

    def params(self) -> dict[str, str]:
        """The auth-params to send or echo: every field that is set, in the spec's order."""
        return {name: getattr(self, name) for name in CHALLENGE_FIELDS if getattr(self, name)}

    def header(self) -> str:
        """The `WWW-Authenticate` value."""
        return "Payment " + ", ".join(f'{k}="{_quote(v)}"' for k, v in self.params().items())


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def bind(secret: bytes, realm: str, method: str, intent: str, request: str, expires: str, digest: str = "",
         opaque: str = "") -> str:  # fmt: skip
    """The challenge id: base64url(HMAC-SHA256(secret, the seven `|`-joined parameter slots))."""
    slots = "|".join((realm, method, intent, request, expires, digest, opaque))
    return b64url(hmac.new(secret, slots.encode(), hashlib.sha256).digest())


def issue(
    secret: bytes, realm: str, method: str, charge: Charge, now: float, ttl: float, nonce: str = ""
) -> Challenge:
    """A bound challenge. `nonce` (random, from the caller) goes into `opaque`, so two challenges
    issued in the same second differ and paying one never spends the other."""
    request = charge.request_b64()
    expires = rfc3339(now + ttl)
    opaque = b64url(jcs({"nonce": nonce})) if nonce else ""
    made = bind(secret, realm, method, INTENT, request, expires, "", opaque)
    return Challenge(made, realm, method, INTENT, request, expires, opaque=opaque)


def authentic(secret: bytes, echoed: Challenge) -> bool:
    """Whether `echoed` is exactly a challenge we issued (any altered parameter breaks the id)."""
    expected = bind(secret, echoed.realm, echoed.method, echoed.intent, echoed.request, echoed.expires,
                    echoed.digest, echoed.opaque)  # fmt: skip
    return hmac.compare_digest(expected, echoed.id)


def parse_auth_params(text: str) -> dict[str, str]:
    """RFC 9110 auth-params (`name=token` or `name="quoted"`, comma-separated) after the scheme."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        start = i
        while i < n and text[i] not in "= \t":
            i += 1
        name = text[start:i].lower()
        while i < n and text[i] in " \t":
            i += 1
        if not name or i >= n or text[i] != "=":
            raise ValueError("malformed auth-params")
        i += 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            value: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            if i >= n:
                raise ValueError("unterminated quoted-string")
            i += 1
            params[name] = "".join(value)
        else:
            start = i
            while i < n and text[i] not in ", \t":
                i += 1
            params[name] = text[start:i]
    return params
