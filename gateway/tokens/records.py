"""Token records (the store's source of truth) and the pure admission decision.

Pure: no I/O, no clock. A record has the seed's fields (`id`, `label`, `issued_at`, `expires_at`,
`revoked`, `account`, `max_requests`, `used_requests`) plus our budgets (`max_tokens`,
`used_input_tokens`, `used_output_tokens`, `rate_limit_per_minute`). `to_json`/`from_json` use the
seed's JSON shape (its binary store holds exactly that JSON); our fields are added only when set, so
a file with no extras is still readable by the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.tokens.jwt_codec import LEEWAY_SECONDS


class RecordError(ValueError):
    """A stored record could not be decoded."""


@dataclass(frozen=True)
class TokenRecord:
    id: str
    label: str = ""
    issued_at: int = 0
    expires_at: int = 0
    revoked: bool = False
    account: str | None = None
    max_requests: int | None = None
    used_requests: int = 0
    max_tokens: int | None = None
    used_input_tokens: int = 0
    used_output_tokens: int = 0
    rate_limit_per_minute: int | None = None

    @property
    def used_tokens(self) -> int:
        return self.used_input_tokens + self.used_output_tokens

    def with_usage(self, requests: int, input_tokens: int, output_tokens: int) -> TokenRecord:
        """This record with absolute usage counters (hot path: avoids `dataclasses.replace`)."""
        return TokenRecord(
            self.id,
            self.label,
            self.issued_at,
            self.expires_at,
            self.revoked,
            self.account,
            self.max_requests,
            requests,
            self.max_tokens,
            input_tokens,
            output_tokens,
            self.rate_limit_per_minute,
        )

    def requests_display(self) -> str:
        """The seed's `tokens list` column: `used/max` or `used/-`."""
        cap = "-" if self.max_requests is None else str(self.max_requests)
        return f"{self.used_requests}/{cap}"


SEED_FIELDS = (
    "id",
    "label",
    "issued_at",
    "expires_at",
    "revoked",
    "account",
    "max_requests",
    "used_requests",
)
EXTRA_INT_FIELDS = ("used_input_tokens", "used_output_tokens")
EXTRA_OPTIONAL_FIELDS = ("max_tokens", "rate_limit_per_minute")


def to_json(record: TokenRecord) -> dict[str, Any]:
    """The record as the seed's JSON object (+ our fields when they carry information)."""
    body: dict[str, Any] = {name: getattr(record, name) for name in SEED_FIELDS}
    for name in EXTRA_OPTIONAL_FIELDS:
        if getattr(record, name) is not None:
            body[name] = getattr(record, name)
    for name in EXTRA_INT_FIELDS:
        if getattr(record, name):
            body[name] = getattr(record, name)
    return body


def from_json(body: object) -> TokenRecord:
    """Decode a JSON object; unknown keys are ignored (forward compatibility), bad types rejected."""
    if not isinstance(body, dict):
        raise RecordError("token record must be a JSON object")
    record_id = body.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise RecordError("token record needs a non-empty string id")
    label = body.get("label", "")
    account = body.get("account")
    if not isinstance(label, str) or not (account is None or isinstance(account, str)):
        raise RecordError(f"token {record_id}: label and account must be strings")
    revoked = body.get("revoked", False)
    if not isinstance(revoked, bool):
        raise RecordError(f"token {record_id}: revoked must be a boolean")
    return TokenRecord(
        id=record_id,
        label=label,
        issued_at=_int(body, "issued_at", 0),
        expires_at=_int(body, "expires_at", 0),
        revoked=revoked,
        account=account,
        max_requests=_optional_int(body, "max_requests"),
        used_requests=_int(body, "used_requests", 0),
        max_tokens=_optional_int(body, "max_tokens"),
        used_input_tokens=_int(body, "used_input_tokens", 0),
        used_output_tokens=_int(body, "used_output_tokens", 0),
        rate_limit_per_minute=_optional_int(body, "rate_limit_per_minute"),
    )


def _int(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"token {body.get('id')}: {name} must be an integer")
    return value


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    if body.get(name) is None:
        return None
    return _int(body, name, 0)


class Denial(StrEnum):
    """Why a validly signed token is refused, in the order the checks run."""

    REVOKED = "revoked"
    EXPIRED = "expired"
    REQUEST_BUDGET = "request_budget"
    TOKEN_BUDGET = "token_budget"
    RATE_LIMIT = "rate_limit"


DENIAL_MESSAGES: dict[Denial, str] = {
    Denial.REVOKED: "Token has been revoked",
    Denial.EXPIRED: "Token has expired",
    Denial.REQUEST_BUDGET: "Token has reached its request limit",
    Denial.TOKEN_BUDGET: "Token has reached its token limit",
    Denial.RATE_LIMIT: "Token has reached its per-minute request rate limit",
}


def admission(record: TokenRecord, jwt_exp: int, now: float, recent_requests: int = 0) -> Denial | None:
    """Whether one more request is allowed for `record` (None = admit).

    `recent_requests` is how many requests this token made in the last minute. An admin `expire`
    moves `expires_at` before the JWT's `exp`; that earlier time is enforced with no leeway,
    while the JWT's own expiry keeps the seed's 60 s leeway.
    """
    if record.revoked:
        return Denial.REVOKED
    shortened = record.expires_at < jwt_exp
    if (now >= record.expires_at) if shortened else (now > record.expires_at + LEEWAY_SECONDS):
        return Denial.EXPIRED
    if record.max_requests is not None and record.used_requests >= record.max_requests:
        return Denial.REQUEST_BUDGET
    if record.max_tokens is not None and record.used_tokens >= record.max_tokens:
        return Denial.TOKEN_BUDGET
    if record.rate_limit_per_minute is not None and recent_requests >= record.rate_limit_per_minute:
        return Denial.RATE_LIMIT
    return None


def budget_view(record: TokenRecord) -> dict[str, Any]:
    """What a key holder may see about their own key (no other token's data)."""

    def remaining(cap: int | None, used: int) -> int | None:
        return None if cap is None else max(0, cap - used)

    return {
        "id": record.id,
        "label": record.label,
        "account": record.account,
        "issued_at": record.issued_at,
        "expires_at": record.expires_at,
        "revoked": record.revoked,
        "max_requests": record.max_requests,
        "used_requests": record.used_requests,
        "remaining_requests": remaining(record.max_requests, record.used_requests),
        "max_tokens": record.max_tokens,
        "used_input_tokens": record.used_input_tokens,
        "used_output_tokens": record.used_output_tokens,
        "remaining_tokens": remaining(record.max_tokens, record.used_tokens),
        "rate_limit_per_minute": record.rate_limit_per_minute,
    }
