"""The cooldown state machine: one table of transitions, driven with explicit times."""

from __future__ import annotations

import pytest

from gateway.accounts import machine
from gateway.accounts.classify import OutcomeKind, Quota, QuotaWindow, Verdict
from gateway.accounts.state import AccountState, CooldownReason, Health, Policy

NOW = 100.0
WALL = 1_800_000_000.0
# One failure is an outlier here, so the table shows the backoff itself (test_outliers: the streak).
POLICY = Policy(cooldown=60.0, transient_base=1.0, auth_cooldown=300.0, outlier_consecutive=1)


def run(verdict: Verdict, state: AccountState | None = None) -> AccountState:
    return machine.apply(state or AccountState("a"), verdict, NOW, WALL, POLICY)


@pytest.mark.parametrize(
    ("verdict", "until", "reason", "health"),
    [
        (Verdict(OutcomeKind.OK), None, None, Health.HEALTHY),
        (Verdict(OutcomeKind.CLIENT_ERROR), None, None, Health.HEALTHY),
        (
            Verdict(OutcomeKind.RATE_LIMITED, retry_after=7),
            NOW + 7,
            CooldownReason.RATE_LIMIT,
            Health.COOLING_DOWN,
        ),
        (Verdict(OutcomeKind.RATE_LIMITED), NOW + 60, CooldownReason.RATE_LIMIT, Health.COOLING_DOWN),
        (
            Verdict(OutcomeKind.QUOTA_EXHAUSTED, quota=Quota(QuotaWindow.FIVE_HOUR, WALL + 1800)),
            NOW + 1800,
            CooldownReason.QUOTA_5H,
            Health.QUOTA_EXHAUSTED,
        ),
        (
            Verdict(OutcomeKind.QUOTA_EXHAUSTED, quota=Quota(QuotaWindow.WEEKLY, WALL + 3 * 86400)),
            NOW + 3 * 86400,
            CooldownReason.QUOTA_WEEKLY,
            Health.QUOTA_EXHAUSTED,
        ),
        (
            Verdict(OutcomeKind.QUOTA_EXHAUSTED, retry_after=30, quota=Quota(QuotaWindow.FIVE_HOUR, None)),
            NOW + 30,
            CooldownReason.QUOTA_5H,
            Health.QUOTA_EXHAUSTED,
        ),
        (
            Verdict(OutcomeKind.QUOTA_EXHAUSTED, quota=Quota(QuotaWindow.FIVE_HOUR, WALL - 50)),
            NOW + 1,
            CooldownReason.QUOTA_5H,
            Health.QUOTA_EXHAUSTED,
        ),
        (
            Verdict(OutcomeKind.OK, quota=Quota(QuotaWindow.FIVE_HOUR, WALL + 90)),
            NOW + 90,
            CooldownReason.QUOTA_5H,
            Health.QUOTA_EXHAUSTED,
        ),
        (Verdict(OutcomeKind.OVERLOADED), NOW + 1, CooldownReason.OVERLOADED, Health.COOLING_DOWN),
        (Verdict(OutcomeKind.SERVER_ERROR), NOW + 1, CooldownReason.UPSTREAM_ERROR, Health.COOLING_DOWN),
        (Verdict(OutcomeKind.CONNECTION_FAILED), NOW + 1, CooldownReason.CONNECTION, Health.COOLING_DOWN),
        (Verdict(OutcomeKind.UNAUTHORIZED), NOW + 300, CooldownReason.AUTH, Health.UNHEALTHY),
        (Verdict(OutcomeKind.CREDENTIAL_UNAVAILABLE), NOW + 60, CooldownReason.CREDENTIAL, Health.UNHEALTHY),
    ],
)
def test_transition_table(
    verdict: Verdict, until: float | None, reason: CooldownReason | None, health: Health
) -> None:
    state = run(verdict)
    assert state.cooldown_until == until
    assert state.cooldown_reason == reason
    assert state.health(NOW) is health


def test_quota_reset_far_in_the_future_is_capped() -> None:
    state = run(Verdict(OutcomeKind.QUOTA_EXHAUSTED, quota=Quota(QuotaWindow.WEEKLY, WALL + 10**9)))
    assert state.cooldown_until == NOW + machine.MAX_QUOTA_COOLDOWN


def test_transient_backoff_doubles_and_is_capped_and_success_resets_it() -> None:
    state = AccountState("a")
    lengths = []
    for _ in range(8):
        state = machine.apply(state, Verdict(OutcomeKind.OVERLOADED), NOW, WALL, POLICY)
        assert state.cooldown_until is not None
        lengths.append(state.cooldown_until - NOW)
        state = machine.expire(state, NOW + 1000)
    assert lengths == [1, 2, 4, 8, 16, 32, 60, 60]
    state = machine.apply(state, Verdict(OutcomeKind.OK), NOW, WALL, POLICY)
    assert state.failures == 0


def test_a_shorter_late_verdict_never_shortens_a_running_cooldown() -> None:
    state = run(Verdict(OutcomeKind.QUOTA_EXHAUSTED, quota=Quota(QuotaWindow.FIVE_HOUR, WALL + 3600)))
    later = machine.apply(state, Verdict(OutcomeKind.RATE_LIMITED, retry_after=5), NOW + 1, WALL + 1, POLICY)
    assert later.cooldown_until == NOW + 3600
    assert later.cooldown_reason is CooldownReason.QUOTA_5H
    assert later.last_error == "rate_limited"


def test_success_does_not_clear_a_cooldown_set_by_a_concurrent_request() -> None:
    state = run(Verdict(OutcomeKind.RATE_LIMITED, retry_after=10))
    after = machine.apply(state, Verdict(OutcomeKind.OK), NOW + 1, WALL + 1, POLICY)
    assert after.cooling(NOW + 1)


def test_expire_and_reset() -> None:
    state = run(Verdict(OutcomeKind.RATE_LIMITED, retry_after=10))
    assert machine.expire(state, NOW + 9.9).cooling(NOW + 9.9)
    expired = machine.expire(state, NOW + 10)
    assert expired.cooldown_until is None and expired.cooldown_reason is None
    assert expired.health(NOW + 10) is Health.HEALTHY
    assert machine.reset_cooldown(state).health(NOW) is Health.HEALTHY
