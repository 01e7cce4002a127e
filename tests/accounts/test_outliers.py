"""One tenant cannot park the only account: failures caused by the request never cool an account, and
5xx / connection failures cool it only after `outlier-consecutive` of them in a row (Envoy-style
outlier detection). Before: one request whose body made the upstream answer 500 (or time out)
cooled the account at once, and with a single account every tenant got 502s for the backoff."""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from dsl.config.loader import load_config
from gateway.accounts import machine
from gateway.accounts.classify import OutcomeKind, Verdict
from gateway.accounts.state import AccountState, Policy
from tests.accounts.trio import HI, MODEL, trio
from tests.support.fake_anthropic import Step

NOW, WALL = 100.0, 1_800_000_000.0
POLICY = Policy()  # the defaults: five in a row


def run(*kinds: OutcomeKind) -> AccountState:
    state = AccountState("a")
    for kind in kinds:
        state = machine.apply(state, Verdict(kind), NOW, WALL, POLICY)
    return state


@pytest.mark.parametrize("kind", [OutcomeKind.SERVER_ERROR, OutcomeKind.CONNECTION_FAILED])
def test_failures_cool_only_after_the_configured_streak(kind: OutcomeKind) -> None:
    assert POLICY.outlier_consecutive == 5
    four = run(*[kind] * 4)
    assert four.cooldown_until is None and four.failures == 4 and four.last_error == str(kind)
    fifth = run(*[kind] * 5)
    assert fifth.cooldown_until == NOW + POLICY.transient_base  # the backoff starts at its base
    sixth = run(*[kind] * 6)
    assert sixth.cooldown_until == NOW + 2 * POLICY.transient_base
    broken = run(*[kind] * 4, OutcomeKind.OK, *[kind] * 4)  # a success ends the streak
    assert broken.cooldown_until is None


@pytest.mark.parametrize("kind", [OutcomeKind.RATE_LIMITED, OutcomeKind.OVERLOADED, OutcomeKind.UNAUTHORIZED])
def test_the_upstreams_own_word_still_cools_at_once(kind: OutcomeKind) -> None:
    assert run(kind).cooldown_until is not None


def test_request_errors_never_cool() -> None:
    assert run(*[OutcomeKind.CLIENT_ERROR] * 50) == AccountState("a")


def test_the_streak_is_a_routing_setting() -> None:
    assert load_config("routing:\n  outlier-consecutive 2\n").routing.outlier_consecutive == 2


async def test_a_request_that_breaks_the_upstream_does_not_park_the_account(tmp_path: Path) -> None:
    async with trio(tmp_path) as t:
        for fake in t.fakes.values():  # every account answers this body with a 500
            fake.then(Step.error(500, "api_error", "parser crashed"))
        with pytest.raises(anthropic.InternalServerError):
            await t.ask()
        accounts = await t.accounts()
        assert all(entry["state"] == "healthy" for entry in accounts.values()), accounts
        message = await t.client.messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert message.content[0].type == "text"  # the next tenant is served at once
