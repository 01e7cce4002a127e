"""Property tests of the pool on a virtual clock: never an account in cooldown, nobody starves."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.model import RoutingStrategy
from gateway.accounts.outcome import CREDENTIAL_UNAVAILABLE, NoAccountAvailable, UpstreamOutcome
from gateway.accounts.pool import AccountPool, PooledAccount
from gateway.accounts.state import AccountState, Health, Policy
from gateway.credentials.apikey import ApiKeyCredential
from tests.accounts.vclock import VirtualClock

U = "anthropic-ratelimit-unified-"

OUTCOMES = [
    UpstreamOutcome(200),
    UpstreamOutcome(200),
    UpstreamOutcome(400),
    UpstreamOutcome(429),
    UpstreamOutcome(429, {"retry-after": "3"}),
    UpstreamOutcome(429, {f"{U}5h-status": "rejected", f"{U}5h-reset": "1800000100"}),
    UpstreamOutcome(429, {f"{U}7d-status": "rejected", f"{U}7d-reset": "1800300000"}),
    UpstreamOutcome(529),
    UpstreamOutcome(500),
    UpstreamOutcome(401),
    UpstreamOutcome(None, connection_error="ClientConnectorError"),
    UpstreamOutcome(None, connection_error=CREDENTIAL_UNAVAILABLE),
    UpstreamOutcome(200, stream_error="overloaded_error"),
    UpstreamOutcome(200, stream_error="invalid_request_error"),
]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.floats(min_value=0, max_value=400, allow_nan=False)),
        st.tuples(
            st.just("request"),
            st.integers(0, len(OUTCOMES) - 1),
            st.sampled_from([None, "s1", "s2"]),
            st.booleans(),
        ),
        st.tuples(st.just("release_all"), st.none()),
    ),
    max_size=60,
)


def make_pool(
    n: int,
    strategy: RoutingStrategy,
    clock: VirtualClock,
    max_concurrent: int | None = None,
) -> AccountPool:
    names = [f"acct{i}" for i in range(n)]
    accounts = [PooledAccount(name, ApiKeyCredential(name, "sk-test")) for name in names]
    states = [
        AccountState(name, weight=i + 1, priority=i % 2, max_concurrent=max_concurrent)
        for i, name in enumerate(names)
    ]
    return AccountPool(accounts, states, strategy, Policy(cooldown=60), session_affinity=True, clock=clock)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 4),
    strategy=st.sampled_from(list(RoutingStrategy)),
    max_concurrent=st.sampled_from([None, 1, 2]),
    script=ops,
)
def test_never_sends_to_an_account_in_cooldown(
    n: int, strategy: RoutingStrategy, max_concurrent: int | None, script: list[tuple[object, ...]]
) -> None:
    clock = VirtualClock()
    pool = make_pool(n, strategy, clock, max_concurrent)
    held: list[str] = []
    for op in script:
        if op[0] == "advance":
            clock.advance(float(op[1]))  # type: ignore[arg-type]
        elif op[0] == "release_all":
            for name in held:
                pool.release(name)
            held.clear()
        else:
            _, outcome_index, session, keep = op
            before = {s.name: s for s in pool.states()}
            available = [s for s in before.values() if s.health(clock.now) is Health.HEALTHY]
            try:
                account = pool.choose(None, session, None, frozenset())  # type: ignore[arg-type]
            except NoAccountAvailable as exc:
                # Refusing is only allowed when no account was healthy, and then it says when to retry.
                assert not available
                assert exc.retry_after is not None and exc.retry_after >= 1
                continue
            chosen = before[account.name]
            assert not chosen.cooling(clock.now), "chose an account in cooldown"
            assert not chosen.at_capacity(), "chose an account at its concurrency limit"
            pool.report(account.name, OUTCOMES[int(outcome_index)])  # type: ignore[call-overload]
            if keep:
                held.append(account.name)
            else:
                pool.release(account.name)
    for name in held:
        pool.release(name)
    assert all(s.in_flight == 0 for s in pool.states())


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(2, 4),
    strategy=st.sampled_from(
        [RoutingStrategy.ROUND_ROBIN, RoutingStrategy.LEAST_USED, RoutingStrategy.WEIGHTED]
    ),
    failures=st.lists(st.tuples(st.integers(0, 3), st.integers(0, len(OUTCOMES) - 1)), max_size=20),
    pause=st.floats(min_value=0, max_value=10 * 86400, allow_nan=False),
)
def test_no_healthy_account_starves(
    n: int, strategy: RoutingStrategy, failures: list[tuple[int, int]], pause: float
) -> None:
    clock = VirtualClock()
    pool = make_pool(n, strategy, clock)
    for who, outcome_index in failures:
        pool.report(f"acct{who % n}", OUTCOMES[outcome_index])
    clock.advance(pause)
    healthy = {s.name for s in pool.states() if s.health(clock.now) is Health.HEALTHY}
    served: set[str] = set()
    # Weighted gives account i weight i+1; within sum(weights) rounds each has had its turn.
    for _ in range(sum(range(1, n + 1)) * 2 if healthy else 0):
        account = pool.choose(None, None, None, frozenset())
        pool.report(account.name, UpstreamOutcome(200))
        pool.release(account.name)
        served.add(account.name)
    assert healthy <= served
    # Once every cooldown has run out, every account is served again.
    clock.advance(9 * 86400)
    served.clear()
    for _ in range(sum(range(1, n + 1)) * 2):
        account = pool.choose(None, None, None, frozenset())
        pool.release(account.name)
        served.add(account.name)
    assert served == {f"acct{i}" for i in range(n)}


def test_cooldown_ends_exactly_when_retry_after_says() -> None:
    clock = VirtualClock()
    pool = make_pool(2, RoutingStrategy.PRIORITY, clock)  # acct1 has the higher priority
    first = pool.choose(None, None, None, frozenset())
    assert first.name == "acct1"
    pool.report("acct1", UpstreamOutcome(429, {"retry-after": "30"}))
    pool.release("acct1")
    clock.advance(29.9)
    assert pool.choose(None, None, None, frozenset()).name == "acct0"
    pool.release("acct0")
    clock.advance(0.1)
    assert pool.choose(None, None, None, frozenset()).name == "acct1"


def test_session_affinity_sticks_and_survives_other_traffic() -> None:
    clock = VirtualClock()
    pool = make_pool(3, RoutingStrategy.ROUND_ROBIN, clock)
    home = pool.choose(None, "conv-1", None, frozenset()).name
    for _ in range(10):
        pool.choose(None, None, None, frozenset())
        assert pool.choose(None, "conv-1", None, frozenset()).name == home
    pool.report(home, UpstreamOutcome(529))
    moved = pool.choose(None, "conv-1", None, frozenset()).name
    assert moved != home
    clock.advance(100)
    # The conversation now lives on its new account (its cache is warm there).
    assert pool.choose(None, "conv-1", None, frozenset()).name == moved


def test_all_down_error_carries_earliest_recovery() -> None:
    clock = VirtualClock()
    pool = make_pool(2, RoutingStrategy.ROUND_ROBIN, clock)
    pool.report("acct0", UpstreamOutcome(429, {"retry-after": "45"}))
    pool.report("acct1", UpstreamOutcome(429, {f"{U}5h-status": "rejected", f"{U}5h-reset": "1800000200"}))
    try:
        pool.choose(None, None, None, frozenset())
    except NoAccountAvailable as exc:
        assert exc.retry_after == 45
    else:
        raise AssertionError("expected NoAccountAvailable")
    snapshot = {e["name"]: e for e in pool.snapshot()}
    assert snapshot["acct1"]["state"] == "quota_exhausted"
    assert snapshot["acct1"]["cooldown_reason"] == "quota_5h"
    assert snapshot["acct1"]["cooldown_remaining_seconds"] == 200
    assert snapshot["acct1"]["quota_reset_at"] == "2027-01-15T08:03:20Z"
    assert snapshot["acct0"]["cooldown_reason"] == "rate_limit"
    assert snapshot["acct0"]["healthy"] is False
