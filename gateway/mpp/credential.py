"""Checking an `Authorization: Payment` credential against the challenge it echoes. Pure.

`assess` turns the request's Authorization values into either a `Problem` (what the client gets,
with the spec's problem type) or an `Admitted` credential whose proof the method's verifier must
still check. Replay is not decided here: the caller's replay guard sees every admitted id once.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.mpp.challenge import INTENT, Challenge, Charge, authentic, b64url_decode, parse_rfc3339

PROBLEM_BASE = "https://paymentauth.org/problems/"


class Kind(StrEnum):
    PAYMENT_REQUIRED = "payment-required"
    PAYMENT_EXPIRED = "payment-expired"
    VERIFICATION_FAILED = "verification-failed"
    METHOD_UNSUPPORTED = "method-unsupported"
    MALFORMED_CREDENTIAL = "malformed-credential"
    INVALID_CHALLENGE = "invalid-challenge"


TITLES: dict[Kind, str] = {
    Kind.PAYMENT_REQUIRED: "Payment Required",
    Kind.PAYMENT_EXPIRED: "Payment Expired",
    Kind.VERIFICATION_FAILED: "Payment Verification Failed",
    Kind.METHOD_UNSUPPORTED: "Payment Method Unsupported",
    Kind.MALFORMED_CREDENTIAL: "Malformed Payment Credential",
    Kind.INVALID_CHALLENGE: "Invalid Payment Challenge",
}


@dataclass(frozen=True)
class Problem:
    kind: Kind
    detail: str
    status: int = 402
    challenge_id: str | None = None

    def body(self) -> dict[str, Any]:
        """The `application/problem+json` body (RFC 9457)."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind.value,
            "title": TITLES[self.kind],
            "status": self.status,
            "detail": self.detail,
        }
        if self.challenge_id:
            body["challengeId"] = self.challenge_id
        return body


@dataclass(frozen=True)
class Admitted:
    challenge: Challenge
    payload: dict[str, Any]
    source: str | None = None


SCHEME = "payment "


def payment_values(authorizations: Sequence[str]) -> list[str]:
    """The credentials of the Payment scheme among the request's Authorization header values."""
    return [v.strip()[len(SCHEME) :].strip() for v in authorizations if v.strip().lower().startswith(SCHEME)]


def assess(
    credentials: Sequence[str],
    secret: bytes,
    realm: str,
    charge: Charge,
    methods: Collection[str],
    now: float,
) -> Problem | Admitted | None:
    """None: no Payment credential (the caller answers with a fresh challenge)."""
    if not credentials:
        return None
    if len(credentials) > 1:
        return Problem(Kind.MALFORMED_CREDENTIAL, "send one Payment credential, not several", status=400)
    try:
        doc = json.loads(b64url_decode(credentials[0]))
    except (ValueError, RecursionError):
        return Problem(Kind.MALFORMED_CREDENTIAL, "the credential is not base64url-encoded JSON")
    echoed, payload = _parts(doc)
    if echoed is None or payload is None:
        return Problem(
            Kind.MALFORMED_CREDENTIAL, "the credential needs a `challenge` object and a `payload` object"
        )
    if not authentic(secret, echoed):
        return Problem(
            Kind.INVALID_CHALLENGE, "the challenge was not issued here or was altered", challenge_id=echoed.id
        )
    if echoed.realm != realm or echoed.intent != INTENT or echoed.request != charge.request_b64():
        return Problem(
            Kind.INVALID_CHALLENGE, "the challenge is for another realm or charge", challenge_id=echoed.id
        )
    try:
        expires = parse_rfc3339(echoed.expires) if echoed.expires else None
    except ValueError:
        expires = None
    if expires is None or expires <= now:
        return Problem(
            Kind.PAYMENT_EXPIRED, "the challenge has expired; pay a fresh one", challenge_id=echoed.id
        )
    if echoed.method not in methods:
        detail = f"payment method {echoed.method!r} is not accepted here"
        return Problem(Kind.METHOD_UNSUPPORTED, detail, status=400, challenge_id=echoed.id)
    source = doc.get("source") if isinstance(doc.get("source"), str) else None
    return Admitted(echoed, payload, source)


def _parts(doc: Any) -> tuple[Challenge | None, dict[str, Any] | None]:
    if not isinstance(doc, dict):
        return None, None
    fields, payload = doc.get("challenge"), doc.get("payload")
    if not isinstance(fields, dict) or not isinstance(payload, dict):
        return None, None
    names = ("id", "realm", "method", "intent", "request")
    if not all(isinstance(fields.get(n), str) and fields[n] for n in names):
        return None, None
    optional = {n: fields.get(n) for n in ("expires", "digest", "opaque")}
    if not all(v is None or isinstance(v, str) for v in optional.values()):
        return None, None
    return Challenge(**{n: fields[n] for n in names}, **{k: v or "" for k, v in optional.items()}), payload
