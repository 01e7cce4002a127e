"""The error state machine: how one verdict changes one account's state.

Pure: `apply(state, verdict, now, now_wall, policy) -> state`. One table of rules for status codes,
quota headers, connection failures and in-stream errors alike:

- 429 → cooldown for `retry-after` (else the configured cooldown), reason rate_limit;
- exhausted 5-hour / weekly window → cooldown until its reset time, reason quota_5h / quota_weekly;
- 529 → a short backoff doubling per consecutive failure (capped at the configured cooldown), so
  the next request goes to another account;
- 5xx / connection failure (timeout, reset) → counted; only `policy.outlier_consecutive` of them in
  a row cool the account (outlier detection), then with the same doubling backoff: one request
  whose body crashes the upstream cannot park the account (the request itself still fails over);
- 401 that survived a refresh, unreadable credential → unhealthy for the auth cooldown;
- success → the transient failure streak ends (a cooldown set meanwhile stays until it expires).
A cooldown only ever grows while it runs: a late, shorter verdict never shortens it.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.accounts.classify import OutcomeKind, QuotaWindow, Verdict
from gateway.accounts.state import AccountState, CooldownReason, Policy

_TRANSIENT = {
    OutcomeKind.OVERLOADED: CooldownReason.OVERLOADED,
    OutcomeKind.SERVER_ERROR: CooldownReason.UPSTREAM_ERROR,
    OutcomeKind.CONNECTION_FAILED: CooldownReason.CONNECTION,
}
_OUTLIER_KINDS = frozenset({OutcomeKind.SERVER_ERROR, OutcomeKind.CONNECTION_FAILED})
# A reset time this far out is a misreport; never park an account for longer than this.
MAX_QUOTA_COOLDOWN = 8 * 24 * 3600.0


def _cool(
    state: AccountState,
    now: float,
    seconds: float,
    reason: CooldownReason,
    detail: str,
    reset_at: float | None = None,
) -> AccountState:
    until = now + max(0.0, seconds)
    if state.cooling(now) and state.cooldown_until is not None and state.cooldown_until >= until:
        return replace(state, last_error=detail or state.last_error)
    return replace(
        state,
        cooldown_until=until,
        cooldown_reason=reason,
        reset_at=reset_at,
        last_error=detail or state.last_error,
    )


def quota_seconds(verdict: Verdict, now_wall: float, policy: Policy) -> float:
    quota = verdict.quota
    if quota is not None and quota.reset_at is not None:
        return min(MAX_QUOTA_COOLDOWN, max(1.0, quota.reset_at - now_wall))
    return verdict.retry_after if verdict.retry_after is not None else policy.cooldown


def apply(state: AccountState, verdict: Verdict, now: float, now_wall: float, policy: Policy) -> AccountState:
    kind = verdict.kind
    detail = verdict.detail or str(kind)
    if kind is OutcomeKind.OK:
        if verdict.quota is None and state.failures == 0:
            return state
        ok = state.evolve(failures=0)
        if verdict.quota is not None:
            reason = _quota_reason(verdict.quota.window)
            return _cool(
                ok,
                now,
                quota_seconds(verdict, now_wall, policy),
                reason,
                f"{verdict.quota.window} quota exhausted",
                verdict.quota.reset_at,
            )
        return ok
    if kind is OutcomeKind.CLIENT_ERROR:
        return state
    if kind is OutcomeKind.QUOTA_EXHAUSTED and verdict.quota is not None:
        return _cool(
            state,
            now,
            quota_seconds(verdict, now_wall, policy),
            _quota_reason(verdict.quota.window),
            detail,
            verdict.quota.reset_at,
        )
    if kind in (OutcomeKind.RATE_LIMITED, OutcomeKind.QUOTA_EXHAUSTED):
        seconds = verdict.retry_after if verdict.retry_after is not None else policy.cooldown
        return _cool(state, now, seconds, CooldownReason.RATE_LIMIT, detail)
    if kind in _TRANSIENT:
        failures = state.failures + 1
        streak = failures
        if kind in _OUTLIER_KINDS:
            if failures < policy.outlier_consecutive:  # not yet an outlier: note it, keep serving
                return replace(state, failures=failures, last_error=detail)
            streak = failures - policy.outlier_consecutive + 1
        backoff = min(policy.cooldown, policy.transient_base * 2 ** min(streak - 1, 30))
        if verdict.retry_after is not None:
            backoff = max(backoff, min(verdict.retry_after, policy.cooldown))
        return _cool(replace(state, failures=failures), now, backoff, _TRANSIENT[kind], detail)
    if kind is OutcomeKind.UNAUTHORIZED:
        return _cool(state, now, policy.auth_cooldown, CooldownReason.AUTH, detail)
    # CREDENTIAL_UNAVAILABLE: the seed's "credential cannot be read" → cooldown.
    return _cool(state, now, policy.cooldown, CooldownReason.CREDENTIAL, detail)


def _quota_reason(window: QuotaWindow) -> CooldownReason:
    return CooldownReason.QUOTA_5H if window is QuotaWindow.FIVE_HOUR else CooldownReason.QUOTA_WEEKLY


def expire(state: AccountState, now: float) -> AccountState:
    """Forget a cooldown that has run out (the reason stays visible only while it runs)."""
    if state.cooldown_until is not None and state.cooldown_until <= now:
        return replace(state, cooldown_until=None, cooldown_reason=None, reset_at=None)
    return state


def reset_cooldown(state: AccountState) -> AccountState:
    """The admin's "reset cooldown": usable again now, failure streak forgotten."""
    return replace(state, cooldown_until=None, cooldown_reason=None, reset_at=None, failures=0)


def record_refresh(state: AccountState, ok: bool) -> AccountState:
    return replace(state, last_refresh_ok=ok, refresh_failures=0 if ok else state.refresh_failures + 1)
