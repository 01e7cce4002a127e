"""Validation of the parameters of a new key, shared by every door that issues one.

Pure: the HTTP admin API's JSON body, the gRPC IssueTokenRequest (mapped to the same dict) and the
CLI's flags all pass through `parse_issue`, so a key that one door refuses no other door accepts.
Bounds keep every stored number representable everywhere a record goes: the gRPC messages
(uint64 budgets, uint32 rate limit), the Redis store (signed 64-bit counters) and the seed's u64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.errors import bad_request

MAX_LABEL_CHARS = 1024
MAX_TTL_HOURS = 24 * 365 * 100
MAX_BUDGET = 2**63 - 1
MAX_RATE_PER_MINUTE = 2**32 - 1


@dataclass(frozen=True)
class IssueParams:
    ttl_hours: int | None = None
    label: str = ""
    account: str | None = None
    max_requests: int | None = None
    max_tokens: int | None = None
    rate_limit_per_minute: int | None = None


def parse_issue(body: object) -> IssueParams:
    """Validate an issue request body. Missing fields take the configured defaults; a bad one is a
    `GatewayError` 400 naming the field and its allowed range."""
    if body is None:
        return IssueParams()
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    label = body.get("label", "")
    if label is None:
        label = ""
    if not isinstance(label, str) or len(label) > MAX_LABEL_CHARS:
        raise bad_request(f"label must be a string of at most {MAX_LABEL_CHARS} characters")
    account = body.get("account")
    if account is not None and (not isinstance(account, str) or not account):
        raise bad_request("account must be a non-empty string or null")
    for name, text in (("label", label), ("account", account or "")):
        if not _encodable(text):
            # JSON's "\ud800" and a non-UTF-8 command-line byte both arrive as a lone surrogate,
            # which no store can write: refuse it here rather than fail the write batch.
            raise bad_request(f"{name} must be valid Unicode text (it holds an unpaired surrogate)")
    return IssueParams(
        ttl_hours=_count(body, "ttl_hours", MAX_TTL_HOURS),
        label=label,
        account=account,
        max_requests=_count(body, "max_requests", MAX_BUDGET),
        max_tokens=_count(body, "max_tokens", MAX_BUDGET),
        rate_limit_per_minute=_count(body, "rate_limit_per_minute", MAX_RATE_PER_MINUTE),
    )


def _count(body: dict[str, Any], name: str, upper: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= upper:
        raise bad_request(f"{name} must be a non-negative integer and at most {upper}")
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
