"""The `la_sk_` token format: `la_sk_` + an HS256 JWT signed with TOKEN_SECRET, exactly as the seed.

Pure: no I/O, no clock (callers pass `now`). The header is the seed's `{"typ":"JWT","alg":"HS256"}`
(key order kept, so keys start with the seed README's `la_sk_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.`);
claims are `sub` (the token id, a UUIDv4), `iat`, `exp`, `label` and, when set, our `account`, then
our `kid` naming the signing secret (a hash of it, never the secret; a claim rather than a header
field, so the header and the documented prefix stay the seed's). Only HS256 is accepted; `exp` is
required and checked with the seed's 60 s leeway. The store record, not the claims, is the source
of truth for budgets and revocation.

Rotation: a `Keyring` holds the current secret (signs) and previous ones (still verify). A token
with a `kid` is checked against the secret with that id only; one without (the seed's, or ours
from before kids) is tried against each secret in turn, current first.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt

PREFIX = "la_sk_"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 60


class TokenProblem(StrEnum):
    """Why a presented credential is not a valid router token (all map to HTTP 401)."""

    MISSING = "missing"
    PREFIX = "prefix"
    INVALID = "invalid"
    EXPIRED = "expired"


MESSAGES: dict[TokenProblem, str] = {
    TokenProblem.MISSING: "Missing Authorization Bearer token or x-api-key",
    TokenProblem.PREFIX: "Token must start with 'la_sk_' prefix",
    TokenProblem.INVALID: "Invalid token",
    TokenProblem.EXPIRED: "Token has expired",
}


class TokenFormatError(Exception):
    """A credential failed a format or signature check; `message` is safe to show to the client."""

    def __init__(self, problem: TokenProblem, detail: str = "") -> None:
        self.problem = problem
        base = MESSAGES[problem]
        self.message = f"{base}: {detail}" if detail else base
        super().__init__(self.message)


@dataclass(frozen=True)
class Keyring:
    """The signing secret and the previous ones that still verify (never printed: no repr)."""

    current: str = field(repr=False)
    previous: tuple[str, ...] = field(default=(), repr=False)

    def secrets(self) -> tuple[str, ...]:
        return (self.current, *(s for s in self.previous if s != self.current))

    def for_kid(self, kid: str) -> str | None:
        return next((s for s in self.secrets() if kid_for(s) == kid), None)


def kid_for(secret: str) -> str:
    """The key id of a secret: 16 hex digits of a domain-separated SHA-256 (reveals nothing the
    token's own signature does not already let an attacker test)."""
    return hashlib.sha256(b"link-assistant-router kid\0" + secret.encode("utf-8")).hexdigest()[:16]


def parse_previous(text: str | None) -> tuple[str, ...]:
    """`TOKEN_SECRET_PREVIOUS`: a comma-separated list of older secrets (blanks ignored)."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class Claims:
    sub: str
    iat: int
    exp: int
    label: str = ""
    account: str | None = None

    def payload(self) -> dict[str, Any]:
        """Claims in the seed's order (`sub`, `iat`, `exp`, `label`), our additions after."""
        body: dict[str, Any] = {"sub": self.sub, "iat": self.iat, "exp": self.exp, "label": self.label}
        if self.account is not None:
            body["account"] = self.account
        return body


def encode(claims: Claims, secret: str) -> str:
    """Sign `claims` and return the full `la_sk_…` token."""
    with warnings.catch_warnings():
        # Short secrets are the operator's choice (the seed accepts any non-empty one).
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        payload = {**claims.payload(), "kid": kid_for(secret)}
        body = jwt.encode(payload, secret, algorithm=ALGORITHM, sort_headers=False)
    return PREFIX + body


def extract_credential(headers: Any) -> str:
    """The client credential: `Authorization: Bearer <x>` first, else a non-empty `x-api-key`.

    `headers` is any mapping; lookup is case-insensitive as HTTP demands.
    """
    authorization = _header(headers, "authorization")
    if authorization is not None and authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :]
    api_key = _header(headers, "x-api-key")
    if api_key:
        return api_key
    raise TokenFormatError(TokenProblem.MISSING)


def decode(token: str, secret: str | Keyring, now: float, leeway: int = LEEWAY_SECONDS) -> Claims:
    """Verify prefix, signature (HS256 only) and expiry; return the claims."""
    if not token.startswith(PREFIX):
        raise TokenFormatError(TokenProblem.PREFIX)
    claims = verify_signature(token, secret)
    check_expiry(claims, now, leeway)
    return claims


def verify_signature(token: str, secret: str | Keyring) -> Claims:
    """Prefix + signature + claim shape, without the clock (so results can be cached)."""
    if not token.startswith(PREFIX):
        raise TokenFormatError(TokenProblem.PREFIX)
    keyring = Keyring(secret) if isinstance(secret, str) else secret
    try:
        unverified = jwt.decode(token[len(PREFIX) :], options={"verify_signature": False})
        kid = unverified.get("kid") if isinstance(unverified, dict) else None
    except jwt.PyJWTError as exc:
        raise TokenFormatError(TokenProblem.INVALID, str(exc)) from exc
    if kid is not None:
        known = keyring.for_kid(kid) if isinstance(kid, str) else None
        if known is None:
            # The seed's words for a foreign signature: a kid we do not hold is exactly that.
            raise TokenFormatError(TokenProblem.INVALID, "Signature verification failed")
        return _verify_with(token, known)
    failure: TokenFormatError | None = None
    for candidate in keyring.secrets():
        try:
            return _verify_with(token, candidate)
        except TokenFormatError as exc:
            failure = failure or exc  # report what the current secret said
    assert failure is not None
    raise failure


def _verify_with(token: str, secret: str) -> Claims:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            payload = jwt.decode(
                token[len(PREFIX) :],
                secret,
                algorithms=[ALGORITHM],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub"],
                },
            )
    except jwt.PyJWTError as exc:
        raise TokenFormatError(TokenProblem.INVALID, str(exc)) from exc
    return _claims_from(payload)


def check_expiry(claims: Claims, now: float, leeway: int = LEEWAY_SECONDS) -> None:
    if now > claims.exp + leeway:
        raise TokenFormatError(TokenProblem.EXPIRED)


def _claims_from(payload: dict[str, Any]) -> Claims:
    sub, exp, iat = payload.get("sub"), payload.get("exp"), payload.get("iat", 0)
    label, account = payload.get("label", ""), payload.get("account")
    if not isinstance(sub, str) or not sub:
        raise TokenFormatError(TokenProblem.INVALID, "sub must be a non-empty string")
    if not _is_int(exp) or not _is_int(iat):
        raise TokenFormatError(TokenProblem.INVALID, "exp and iat must be integers")
    if not isinstance(label, str) or not (account is None or isinstance(account, str)):
        raise TokenFormatError(TokenProblem.INVALID, "label and account must be strings")
    assert isinstance(exp, int) and isinstance(iat, int)
    return Claims(sub=sub, iat=iat, exp=exp, label=label, account=account)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    if value is None and not _case_insensitive(headers):
        for key, candidate in headers.items():
            if key.lower() == name:
                return str(candidate)
    return None if value is None else str(value)


def _case_insensitive(headers: Any) -> bool:
    # aiohttp's CIMultiDict(Proxy) already folds case; plain dicts need the slow path.
    return type(headers).__name__.startswith("CIMultiDict")
