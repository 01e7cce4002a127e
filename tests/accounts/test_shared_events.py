"""Pool events between replicas (pure): codec, and adoption that never shortens a cooldown."""

from __future__ import annotations

import pytest

from gateway.accounts.shared import EventKind, PoolEvent, adopt, cooldown_event, decode_event
from gateway.accounts.state import AccountState, CooldownReason

NOW, WALL = 100.0, 1_800_000_000.0


def test_round_trip_and_absolute_time() -> None:
    state = AccountState(
        "a",
        cooldown_until=NOW + 30,
        cooldown_reason=CooldownReason.QUOTA_5H,
        reset_at=WALL + 30,
        last_error="upstream returned 429 (5h quota exhausted)",
    )
    event = cooldown_event(state, NOW, WALL, "replica-1")
    assert event == PoolEvent(
        EventKind.COOLDOWN,
        "a",
        "replica-1",
        WALL + 30,
        CooldownReason.QUOTA_5H,
        WALL + 30,
        "upstream returned 429 (5h quota exhausted)",
    )
    assert decode_event(event.encode()) == event
    assert cooldown_event(AccountState("a"), NOW, WALL, "r") is None


@pytest.mark.parametrize(
    "text", ["", "[]", "{}", '{"kind":"explode","account":"a"}', b"\xff", '{"kind":"drain"}']
)
def test_malformed_messages_are_ignored(text: str | bytes) -> None:
    assert decode_event(text) is None


def test_adoption_on_another_clock_and_never_shorter() -> None:
    # The other replica's monotonic clock reads 5000: only the wall-clock end matters.
    remote = PoolEvent(EventKind.COOLDOWN, "a", "r2", WALL + 20, CooldownReason.RATE_LIMIT, None, "429")
    adopted = adopt(AccountState("a"), remote, 5000.0, WALL)
    assert adopted.cooldown_until == 5020.0 and adopted.cooldown_reason is CooldownReason.RATE_LIMIT
    longer = AccountState("a", cooldown_until=5100.0, cooldown_reason=CooldownReason.QUOTA_WEEKLY)
    assert adopt(longer, remote, 5000.0, WALL) == longer
    expired = PoolEvent(EventKind.COOLDOWN, "a", "r2", WALL - 1, CooldownReason.RATE_LIMIT)
    assert adopt(AccountState("a"), expired, 5000.0, WALL) == AccountState("a")


def test_admin_events() -> None:
    cooling = AccountState("a", cooldown_until=NOW + 9, cooldown_reason=CooldownReason.AUTH, failures=3)
    assert adopt(cooling, PoolEvent(EventKind.RESET, "a"), NOW, WALL).cooling(NOW) is False
    drained = adopt(AccountState("a"), PoolEvent(EventKind.DRAIN, "a"), NOW, WALL)
    assert drained.drained and not adopt(drained, PoolEvent(EventKind.RESUME, "a"), NOW, WALL).drained
