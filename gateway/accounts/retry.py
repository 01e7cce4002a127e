"""What the forwarding loop does after one attempt: deliver, refresh and retry, or try another account.

Pure: a verdict plus the request's attempt bookkeeping in, a `Step` out. Also the one error the
client gets when no account can take the request (the seed's 502, with `retry-after` set to the
earliest moment an account recovers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from gateway.accounts.classify import OutcomeKind, Verdict
from gateway.errors import GatewayError
from gateway.proxy.pool import NoAccountAvailable


class Step(StrEnum):
    DELIVER = "deliver"
    """Send this response to the client as it is (success, the client's own 4xx, or retries spent)."""
    REFRESH_SAME = "refresh_same"
    """Refresh this account's OAuth token once and resend to the same account."""
    RETRY_OTHER = "retry_other"
    """Mark this account tried and choose another."""


@dataclass(frozen=True)
class Attempts:
    """Per-request bookkeeping (a fresh one per client request)."""

    max_retries: int
    retries: int = 0
    refreshed: frozenset[str] = frozenset()
    tried: frozenset[str] = frozenset()


def decide(verdict: Verdict, account: str, can_refresh: bool, attempts: Attempts) -> tuple[Step, Attempts]:
    """The next step, and the bookkeeping after taking it."""
    if not verdict.account_failed:
        return Step.DELIVER, attempts
    if verdict.kind is OutcomeKind.UNAUTHORIZED and can_refresh and account not in attempts.refreshed:
        # The refresh-and-resend is not counted as a retry: it is the same account's second chance.
        return Step.REFRESH_SAME, replace(attempts, refreshed=attempts.refreshed | {account})
    if attempts.retries >= attempts.max_retries:
        return Step.DELIVER, replace(attempts, tried=attempts.tried | {account})
    return Step.RETRY_OTHER, replace(attempts, retries=attempts.retries + 1, tried=attempts.tried | {account})


def no_account_error(exc: NoAccountAvailable) -> GatewayError:
    """The seed's `502 Upstream authentication unavailable`, plus when to come back."""
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        headers["retry-after"] = str(max(1, int(exc.retry_after + 0.999)))
    return GatewayError(502, "api_error", f"Upstream authentication unavailable: {exc}", headers)
