"""HTTP Signatures in the draft-cavage-12 form that Mastodon and the forges speak: sign and verify.

Pure: header values in, header values or a verdict out, with `cryptography` for the maths. No
aiohttp and no clock of its own (callers pass `now`). Signing uses RSASSA-PKCS1-v1_5 / SHA-256
(`algorithm="rsa-sha256"`) over `(request-target) host date digest` (GET: without digest); verifying
accepts `rsa-sha256` and `hs2019` with an RSA or Ed25519 key, checks the `Digest` against the body and
refuses a `Date` more than 12 hours old or 1 hour ahead, as Mastodon does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

MAX_AGE_SECONDS = 12 * 3600
MAX_AHEAD_SECONDS = 3600
POST_HEADERS = ("(request-target)", "host", "date", "digest")
GET_HEADERS = ("(request-target)", "host", "date")
ACCEPTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class SignatureError(Exception):
    """A request's signature is missing, malformed, stale or wrong (the message is safe to show)."""


@dataclass(frozen=True)
class SignatureParams:
    """The parsed `Signature` header."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes

    def header_value(self) -> str:
        sig = base64.b64encode(self.signature).decode()
        names = " ".join(self.headers)
        return f'keyId="{self.key_id}",algorithm="{self.algorithm}",headers="{names}",signature="{sig}"'


_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


def parse_signature(text: str) -> SignatureParams:
    """`keyId="…",algorithm="…",headers="…",signature="…"`; also the `Authorization: Signature …` form."""
    text = text.strip()
    if text[:10].lower() == "signature ":
        text = text[10:]
    fields: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _PARAM.match(text, position)
        if match is None:
            raise SignatureError("the Signature header is malformed")
        fields[match.group(1)] = match.group(2)
        position = match.end()
    if not fields.get("keyId") or not fields.get("signature"):
        raise SignatureError("the Signature header needs keyId and signature")
    try:
        raw = base64.b64decode(fields["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is not base64") from None
    names = tuple(fields.get("headers", "date").lower().split())
    return SignatureParams(fields["keyId"], fields.get("algorithm", "hs2019").lower(), names, raw)


def body_digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def http_date(unix_seconds: float) -> str:
    """RFC 7231 IMF-fixdate, e.g. `Sun, 05 Jan 2014 21:31:40 GMT`."""
    return formatdate(unix_seconds, usegmt=True)


def signing_string(names: tuple[str, ...], method: str, target: str, headers: Mapping[str, str]) -> str:
    """The lines the signature covers. `target` is the path with its query; `headers` lower-case keyed."""
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in headers:
            lines.append(f"{name}: {headers[name].strip()}")
        else:
            raise SignatureError(f"the signed header {name!r} is missing from the request")
    return "\n".join(lines)


def sign_request(
    key: PrivateKey,
    key_id: str,
    method: str,
    target: str,
    host: str,
    body: bytes | None,
    now: float,
) -> dict[str, str]:
    """Headers to add to an outgoing request: `Date`, `Digest` (with a body) and `Signature`."""
    headers = {"host": host, "date": http_date(now)}
    names: tuple[str, ...] = GET_HEADERS
    if body is not None:
        headers["digest"] = body_digest(body)
        names = POST_HEADERS
    message = signing_string(names, method, target, headers).encode()
    if isinstance(key, rsa.RSAPrivateKey):
        raw, algorithm = key.sign(message, padding.PKCS1v15(), hashes.SHA256()), "rsa-sha256"
    else:
        raw, algorithm = key.sign(message), "hs2019"
    signature = SignatureParams(key_id, algorithm, names, raw).header_value()
    out = {"Date": headers["date"], "Signature": signature}
    if "digest" in headers:
        out["Digest"] = headers["digest"]
    return out


def required_headers(method: str) -> tuple[str, ...]:
    """What a signature must cover for us to trust the request."""
    return POST_HEADERS if method.upper() == "POST" else GET_HEADERS


def check_freshness(date_value: str | None, now: float) -> None:
    if not date_value:
        raise SignatureError("the request has no Date header")
    try:
        sent = parsedate_to_datetime(date_value).timestamp()
    except (TypeError, ValueError, IndexError):
        raise SignatureError("the Date header is not an HTTP date") from None
    if sent < now - MAX_AGE_SECONDS:
        raise SignatureError("the Date header is too old")
    if sent > now + MAX_AHEAD_SECONDS:
        raise SignatureError("the Date header is in the future")


def check_digest(digest_value: str | None, body: bytes) -> None:
    if digest_value is None:
        raise SignatureError("the request has no Digest header")
    for part in digest_value.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "sha-256":
            if value.strip() != body_digest(body)[len("SHA-256=") :]:
                raise SignatureError("the Digest does not match the body")
            return
    raise SignatureError("the Digest header has no SHA-256 value")


def verify_signature(params: SignatureParams, key: PublicKey, message: bytes) -> None:
    if params.algorithm not in ACCEPTED_ALGORITHMS:
        raise SignatureError(f"signature algorithm {params.algorithm!r} is not accepted")
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(params.signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(params.signature, message)
    except InvalidSignature:
        raise SignatureError("the signature does not verify") from None


def verify_request(
    params: SignatureParams,
    key: PublicKey,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    now: float,
) -> None:
    """Raise `SignatureError` unless the request is signed by `key` over what we require."""
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in required_headers(method) if name not in params.headers]
    if missing:
        raise SignatureError(f"the signature does not cover {', '.join(missing)}")
    check_freshness(lowered.get("date"), now)
    if body is not None and method.upper() == "POST":
        check_digest(lowered.get("digest"), body)
    verify_signature(params, key, signing_string(params.headers, method, target, lowered).encode())


def load_public_key(pem: str) -> PublicKey:
    """An SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`) PEM; ValueError otherwise."""
    data = pem.strip().encode()
    try:
        key = (
            serialization.load_pem_public_key(data)
            if b"BEGIN PUBLIC KEY" in data
            else serialization.load_pem_public_key(data.replace(b"RSA PUBLIC", b"PUBLIC"))
        )
    except (ValueError, TypeError) as exc:
        raise ValueError("not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise ValueError("only RSA and Ed25519 keys are used for HTTP signatures")
    return key


def load_private_key(pem: str) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not an unencrypted PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError("only RSA and Ed25519 keys are used for HTTP signatures")
    return key


def public_pem(key: PrivateKey | PublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) else key
    spki = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki.decode()


def same_public_key(a: PublicKey, b: PublicKey) -> bool:
    return public_pem(a) == public_pem(b)
