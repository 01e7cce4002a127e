"""Selection strategies, affinity, pinning, model filters and concurrency limits (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from dsl.model import RoutingStrategy
from gateway.accounts.select import Choice, NoChoice, Request, Turn, charge, model_allowed, select
from gateway.accounts.state import AccountState, CooldownReason

NOW = 50.0
T0 = Turn()


def pool(*specs: dict[str, object]) -> list[AccountState]:
    return [AccountState(name=f"a{i}", index=i, **spec) for i, spec in enumerate(specs)]  # type: ignore[arg-type]


def run_many(states: list[AccountState], strategy: RoutingStrategy, n: int) -> list[str]:
    """Simulate n sequential requests, each completing before the next (used counts move)."""
    turn, names = Turn(), []
    for _ in range(n):
        result = select(states, Request(), strategy, NOW, turn)
        assert isinstance(result, Choice)
        names.append(result.name)
        i = next(i for i, s in enumerate(states) if s.name == result.name)
        charged, turn = charge(states[i], strategy, result.turn)
        states[i] = replace(charged, in_flight=charged.in_flight - 1)
    return names


def test_round_robin_rotates_and_skips_cooling_accounts() -> None:
    states = pool({}, {}, {})
    assert run_many(list(states), RoutingStrategy.ROUND_ROBIN, 6) == ["a0", "a1", "a2", "a0", "a1", "a2"]
    states[1] = replace(states[1], cooldown_until=NOW + 5)
    assert run_many(list(states), RoutingStrategy.ROUND_ROBIN, 4) == ["a0", "a2", "a2", "a0"]


def test_priority_prefers_higher_priority_then_config_order() -> None:
    states = pool({"priority": 0}, {"priority": 5}, {"priority": 5})
    assert run_many(list(states), RoutingStrategy.PRIORITY, 3) == ["a1", "a1", "a1"]
    states[1] = replace(states[1], cooldown_until=NOW + 1)
    assert run_many(list(states), RoutingStrategy.PRIORITY, 2) == ["a2", "a2"]


def test_least_used_counts_in_flight_first_then_past_use() -> None:
    states = pool({"vtime": 5}, {"vtime": 1, "in_flight": 2}, {"vtime": 3})
    assert select(states, Request(), RoutingStrategy.LEAST_USED, NOW, T0) == Choice("a2", T0)
    states[2] = replace(states[2], in_flight=3)
    assert select(states, Request(), RoutingStrategy.LEAST_USED, NOW, T0) == Choice("a0", T0)


def test_weighted_is_proportional() -> None:
    names = run_many(pool({"weight": 3}, {"weight": 1}), RoutingStrategy.WEIGHTED, 400)
    counts = Counter(names)
    assert counts["a0"] == 300 and counts["a1"] == 100


def test_affinity_wins_while_healthy_and_moves_when_not() -> None:
    states = pool({}, {}, {})
    req = Request(affinity="a2")
    for strategy in RoutingStrategy:
        assert select(states, req, strategy, NOW, T0) == Choice("a2", T0, by_affinity=True)
    states[2] = replace(states[2], cooldown_until=NOW + 1)
    moved = select(states, req, RoutingStrategy.ROUND_ROBIN, NOW, T0)
    assert isinstance(moved, Choice) and moved.name != "a2" and not moved.by_affinity


def test_pinning_serves_only_the_pinned_account() -> None:
    states = pool({}, {}, {})
    assert select(states, Request(pinned="a1"), RoutingStrategy.ROUND_ROBIN, NOW, T0) == Choice("a1", Turn(1))
    states[1] = replace(states[1], cooldown_until=NOW + 12.2)
    result = select(states, Request(pinned="a1"), RoutingStrategy.ROUND_ROBIN, NOW, T0)
    assert result == NoChoice("no healthy accounts available (1 cooling down)", 13)
    unknown = select(states, Request(pinned="ghost"), RoutingStrategy.ROUND_ROBIN, NOW, T0)
    assert isinstance(unknown, NoChoice) and unknown.retry_after is None and "ghost" in unknown.message


@pytest.mark.parametrize(
    ("patterns", "model", "allowed"),
    [
        ((), "claude-x", True),
        (("claude-sonnet-4-5",), "claude-sonnet-4-5", True),
        (("claude-sonnet-*",), "claude-sonnet-4-5", True),
        (("claude-sonnet-*",), "claude-opus-4", False),
        (("a", "claude-opus-*"), "claude-opus-4", True),
        (("x",), None, True),
    ],
)
def test_model_patterns(patterns: tuple[str, ...], model: str | None, allowed: bool) -> None:
    assert model_allowed(patterns, model) is allowed


def test_model_filter_routes_to_the_allowed_account() -> None:
    states = pool({"models": ("claude-opus-*",)}, {"models": ("claude-haiku-*",)})
    for cursor in range(4):
        req = Request(model="claude-haiku-4-5")
        result = select(states, req, RoutingStrategy.ROUND_ROBIN, NOW, Turn(cursor))
        assert isinstance(result, Choice) and result.name == "a1"
    none = select(states, Request(model="gpt-4o"), RoutingStrategy.ROUND_ROBIN, NOW, T0)
    assert isinstance(none, NoChoice) and none.retry_after is None


def test_concurrency_limit_and_exclusion() -> None:
    states = pool({"max_concurrent": 1, "in_flight": 1}, {})
    assert select(states, Request(), RoutingStrategy.PRIORITY, NOW, T0) == Choice("a1", T0)
    result = select(states, Request(exclude=frozenset({"a1"})), RoutingStrategy.PRIORITY, NOW, T0)
    assert result == NoChoice("no healthy accounts available (1 at their concurrency limit, 1 failing)", 1)


def test_no_choice_reports_the_earliest_recovery() -> None:
    states = pool({"cooldown_until": NOW + 40}, {"cooldown_until": NOW + 7.5}, {"drained": True})
    assert select(states, Request(), RoutingStrategy.ROUND_ROBIN, NOW, T0) == NoChoice(
        "no healthy accounts available (2 cooling down)", 8
    )
    assert select([], Request(), RoutingStrategy.ROUND_ROBIN, NOW, T0) == NoChoice(
        "no upstream accounts are configured", None
    )


@pytest.mark.parametrize("strategy", [RoutingStrategy.LEAST_USED, RoutingStrategy.WEIGHTED])
def test_an_account_back_from_cooldown_gets_its_share_not_all_traffic(strategy: RoutingStrategy) -> None:
    states = pool({}, {})
    states[1] = replace(states[1], cooldown_until=NOW + 1)
    turn = Turn()
    for _ in range(50):  # a1 is away; a0 serves everything
        result = select(states, Request(), strategy, NOW, turn)
        assert isinstance(result, Choice) and result.name == "a0"
        charged, turn = charge(states[0], strategy, result.turn)
        states[0] = replace(charged, in_flight=0)
    states[1] = replace(states[1], cooldown_until=None)
    names = []
    for _ in range(10):
        result = select(states, Request(), strategy, NOW, turn)
        assert isinstance(result, Choice)
        i = int(result.name[1])
        charged, turn = charge(states[i], strategy, result.turn)
        states[i] = replace(charged, in_flight=0)
        names.append(result.name)
    assert Counter(names) == Counter({"a0": 5, "a1": 5})


def test_no_choice_says_why_the_accounts_are_out_without_naming_them() -> None:
    states = pool(
        {"cooldown_until": NOW + 40, "cooldown_reason": CooldownReason.RATE_LIMIT},
        {"cooldown_until": NOW + 3600, "cooldown_reason": CooldownReason.QUOTA_5H},
        {"cooldown_until": NOW + 9, "cooldown_reason": CooldownReason.RATE_LIMIT},
        {"cooldown_until": NOW + 300, "cooldown_reason": CooldownReason.AUTH},
    )
    result = select(states, Request(), RoutingStrategy.ROUND_ROBIN, NOW, T0)
    assert result == NoChoice(
        "no healthy accounts available (2 rate limited, 1 out of 5-hour quota, 1 refused by the upstream)", 9
    )
    assert isinstance(result, NoChoice) and not any(s.name in result.message for s in states)


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (Request(pinned="ghost"), "the account 'ghost' this key is pinned to is not configured"),
        (Request(pinned="a0"), "the account 'a0' this key is pinned to is drained"),
        (
            Request(pinned="a1", model="claude-opus-4"),
            "the account 'a1' this key is pinned to cannot serve model 'claude-opus-4'",
        ),
        (Request(model="claude-haiku-4-5"), "every account that may serve it is drained"),
        (Request(model="gpt-4o"), "no account is allowed to serve model 'gpt-4o'"),
    ],
)
def test_when_waiting_cannot_help_the_message_says_why(req: Request, message: str) -> None:
    states = pool(
        {"models": ("claude-*",), "drained": True}, {"models": ("claude-haiku-*",), "drained": True}
    )
    assert select(states, req, RoutingStrategy.ROUND_ROBIN, NOW, T0) == NoChoice(message, None)
    assert select([], Request(), RoutingStrategy.ROUND_ROBIN, NOW, T0) == NoChoice(
        "no upstream accounts are configured", None
    )
