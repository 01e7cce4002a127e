"""Classify what one upstream attempt observed into a verdict the pool and the retry loop act on.

Pure: headers in, a frozen `Verdict` out; never imports aiohttp. Handles the HTTP status, the
`retry-after`/`retry-after-ms` headers, the subscription quota headers `anthropic-ratelimit-unified-*`
(5-hour and weekly windows, told apart from short throttling) and error events inside an SSE stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class OutcomeKind(StrEnum):
    OK = "ok"
    CLIENT_ERROR = "client_error"
    """A 4xx about the request itself: the account is fine and the client sees the answer."""
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    CONNECTION_FAILED = "connection_failed"
    UNAUTHORIZED = "unauthorized"
    CREDENTIAL_UNAVAILABLE = "credential_unavailable"


class QuotaWindow(StrEnum):
    FIVE_HOUR = "5h"
    WEEKLY = "weekly"


# Kinds that say "this account cannot serve right now; another one may".
ACCOUNT_FAILURES = frozenset(
    {
        OutcomeKind.RATE_LIMITED,
        OutcomeKind.QUOTA_EXHAUSTED,
        OutcomeKind.OVERLOADED,
        OutcomeKind.SERVER_ERROR,
        OutcomeKind.CONNECTION_FAILED,
        OutcomeKind.UNAUTHORIZED,
        OutcomeKind.CREDENTIAL_UNAVAILABLE,
    }
)

UNIFIED = "anthropic-ratelimit-unified-"
_WINDOW_PREFIXES: tuple[tuple[QuotaWindow, str], ...] = (
    (QuotaWindow.FIVE_HOUR, "5h"),
    (QuotaWindow.WEEKLY, "7d"),
)

# In-stream `error.type` → the same kinds a status code would give.
_STREAM_ERRORS = {
    "overloaded_error": OutcomeKind.OVERLOADED,
    "rate_limit_error": OutcomeKind.RATE_LIMITED,
    "api_error": OutcomeKind.SERVER_ERROR,
    "authentication_error": OutcomeKind.UNAUTHORIZED,
}


@dataclass(frozen=True)
class Quota:
    """An exhausted subscription window and when (Unix seconds) it resets, if the upstream said."""

    window: QuotaWindow
    reset_at: float | None


@dataclass(frozen=True)
class Verdict:
    kind: OutcomeKind
    retry_after: float | None = None
    """Seconds the upstream asked us to wait (retry-after), if it said."""
    quota: Quota | None = None
    detail: str = ""
    """A short, secret-free description for `last_error`."""

    @property
    def account_failed(self) -> bool:
        return self.kind in ACCOUNT_FAILURES


def _lower(headers: Mapping[str, str]) -> Mapping[str, str]:
    if isinstance(headers, _Lowered):
        return headers
    return _Lowered((k.lower(), v) for k, v in headers.items())


class _Lowered(dict[str, str]):
    """Headers already keyed in lower case (so one response is lowered once, not per parser)."""


def parse_retry_after(headers: Mapping[str, str], now_wall: float) -> float | None:
    """`retry-after-ms`, else `retry-after` as seconds or an HTTP date; None when absent or junk."""
    h = _lower(headers)
    raw_ms = h.get("retry-after-ms", "").strip()
    if raw_ms:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = -1.0
        if ms >= 0 and ms == ms and ms != float("inf"):
            return ms / 1000.0
    raw = h.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - now_wall)
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        return None
    return seconds


def _parse_reset(raw: str | None) -> float | None:
    """A reset time as Unix seconds (the form Anthropic sends) or RFC 3339."""
    if not raw:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    if value != value or value in (float("inf"), float("-inf")) or value <= 0:
        return None
    return value / 1000.0 if value > 1e12 else value  # tolerate milliseconds


def parse_quota(headers: Mapping[str, str]) -> Quota | None:
    """The exhausted window named by the unified rate-limit headers, or None if none is exhausted.

    When both windows are exhausted the later reset wins: the account is unusable until both reopen.
    """
    h = _lower(headers)
    if not any(k.startswith(UNIFIED) for k in h):
        return None
    exhausted: list[Quota] = []
    for window, prefix in _WINDOW_PREFIXES:
        if h.get(f"{UNIFIED}{prefix}-status", "").strip().lower() == "rejected":
            exhausted.append(Quota(window, _parse_reset(h.get(f"{UNIFIED}{prefix}-reset"))))
    if not exhausted and h.get(f"{UNIFIED}status", "").strip().lower() == "rejected":
        claim = h.get(f"{UNIFIED}representative-claim", "").strip().lower()
        window = QuotaWindow.WEEKLY if claim.startswith("seven_day") else QuotaWindow.FIVE_HOUR
        prefix = "5h" if window is QuotaWindow.FIVE_HOUR else "7d"
        reset = _parse_reset(h.get(f"{UNIFIED}reset")) or _parse_reset(h.get(f"{UNIFIED}{prefix}-reset"))
        exhausted.append(Quota(window, reset))
    if not exhausted:
        return None
    return max(exhausted, key=lambda q: (q.reset_at or 0.0, q.window is QuotaWindow.WEEKLY))


def classify_response(status: int, headers: Mapping[str, str], now_wall: float) -> Verdict:
    """The verdict for an upstream HTTP response (before its body is read)."""
    headers = _lower(headers)
    retry_after = parse_retry_after(headers, now_wall)
    quota = parse_quota(headers)
    if status < 400:
        # A success may still announce that the window just ran out: cool down after serving it.
        return Verdict(OutcomeKind.OK, retry_after=None, quota=quota)
    if status == 429:
        if quota is not None:
            return Verdict(
                OutcomeKind.QUOTA_EXHAUSTED,
                retry_after,
                quota,
                f"upstream returned 429 ({quota.window} quota exhausted)",
            )
        return Verdict(OutcomeKind.RATE_LIMITED, retry_after, None, "upstream returned 429")
    if status == 401:
        return Verdict(OutcomeKind.UNAUTHORIZED, detail="upstream returned 401")
    if status == 529:
        return Verdict(OutcomeKind.OVERLOADED, retry_after, detail="upstream returned 529 (overloaded)")
    if status >= 500:
        return Verdict(OutcomeKind.SERVER_ERROR, retry_after, detail=f"upstream returned {status}")
    return Verdict(OutcomeKind.CLIENT_ERROR, detail=f"upstream returned {status}")


def classify_stream_error(error_type: str | None) -> Verdict:
    """The verdict for an `event: error` inside a 200 SSE stream (e.g. `overloaded_error`)."""
    kind = _STREAM_ERRORS.get(error_type or "", OutcomeKind.CLIENT_ERROR)
    return Verdict(kind, detail=f"upstream stream error {error_type or 'unknown'}")


def classify_connection_failure(reason: str) -> Verdict:
    """The verdict for a failed connect / reset / timeout before a response arrived."""
    return Verdict(OutcomeKind.CONNECTION_FAILED, detail=f"upstream connection failed: {reason}"[:200])


def classify_credential_failure() -> Verdict:
    return Verdict(OutcomeKind.CREDENTIAL_UNAVAILABLE, detail="credential unavailable")
