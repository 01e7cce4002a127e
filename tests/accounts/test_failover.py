"""Failover across three real upstream stand-ins, driven through the gateway by the Anthropic SDK.

Every test asserts which account served each request, that the client saw no error while an
account was healthy, and when cooldowns end.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import anthropic
import openai
import pytest

from dsl.model import RoutingStrategy
from tests.accounts.trio import HI, MODEL, trio
from tests.accounts.vclock import VirtualClock
from tests.support.fake_anthropic import Step
from tests.support.gateway import write_credentials

U = "anthropic-ratelimit-unified-"


async def test_round_robin_spreads_requests_over_the_three_accounts(tmp_path: Path) -> None:
    async with trio(tmp_path) as t:
        texts = [(await t.ask()).content[0].text for _ in range(6)]  # type: ignore[union-attr]
        assert t.served() == {"a": 2, "b": 2, "c": 2}
        assert sorted(set(texts)) == ["served by a", "served by b", "served by c"]


async def test_429_cools_the_account_for_retry_after_and_the_client_never_notices(tmp_path: Path) -> None:
    clock = VirtualClock()
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY, clock=clock) as t:
        t.fakes["a"].then(Step.rate_limited(retry_after=3))
        first = await t.ask()
        assert first.content[0].text == "served by b"  # type: ignore[union-attr]
        assert t.served() == {"a": 1, "b": 1, "c": 0}
        accounts = await t.accounts()
        assert accounts["a"]["state"] == "cooling_down"
        assert accounts["a"]["cooldown_reason"] == "rate_limit"
        assert accounts["a"]["healthy"] is False
        assert accounts["a"]["last_error"] == "upstream returned 429"
        for _ in range(3):
            await t.ask()
        assert t.served() == {"a": 1, "b": 4, "c": 0}  # a is skipped while cooling
        clock.advance(2.9)
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        clock.advance(0.15)
        back = await t.ask()
        assert back.content[0].text == "served by a"  # type: ignore[union-attr]
        assert (await t.accounts())["a"]["state"] == "healthy"


async def test_exhausted_5h_window_is_a_quota_cooldown_until_its_reset(tmp_path: Path) -> None:
    clock = VirtualClock(wall_offset=time.time() - VirtualClock.now)
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY, clock=clock) as t:
        reset = int(clock.wall()) + 3  # the window reopens in 2-3 s (Unix seconds, as Anthropic sends)
        quota = {
            f"{U}status": "rejected",
            f"{U}5h-status": "rejected",
            f"{U}5h-reset": str(reset),
            f"{U}7d-status": "allowed",
            f"{U}representative-claim": "five_hour",
        }
        t.fakes["a"].then(Step.rate_limited(retry_after=0, headers=quota))
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        entry = (await t.accounts())["a"]
        assert entry["state"] == "quota_exhausted"
        assert entry["cooldown_reason"] == "quota_5h"
        assert entry["quota_reset_at"] is not None
        assert 1 <= entry["cooldown_remaining_seconds"] <= 3
        await t.ask()
        assert t.served()["a"] == 1
        clock.advance(reset - clock.wall() - 0.1)
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        clock.advance(0.15)
        assert (await t.ask()).content[0].text == "served by a"  # type: ignore[union-attr]


async def test_529_then_cut_stream_then_success_streams_cleanly(tmp_path: Path) -> None:
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY, outlier_consecutive=1) as t:
        t.fakes["a"].then(Step.overloaded())
        t.fakes["b"].then(Step.cut_stream(after_events=2))  # cut in the opening frames
        async with t.client.messages.stream(model=MODEL, max_tokens=5, messages=HI) as stream:
            text = "".join([chunk async for chunk in stream.text_stream])
        assert text == "served by c"
        assert t.served() == {"a": 1, "b": 1, "c": 1}
        accounts = await t.accounts()
        assert accounts["a"]["cooldown_reason"] == "overloaded"
        assert accounts["b"]["cooldown_reason"] == "connection"
        assert accounts["c"]["state"] == "healthy"


async def test_overloaded_error_inside_the_opening_frames_is_retried_elsewhere(tmp_path: Path) -> None:
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].then(Step.stream_error(after_events=1))
        async with t.client.messages.stream(model=MODEL, max_tokens=5, messages=HI) as stream:
            message = await stream.get_final_message()
        assert message.content[0].text == "served by b"  # type: ignore[union-attr]
        assert t.served() == {"a": 1, "b": 1, "c": 0}
        assert (await t.accounts())["a"]["cooldown_reason"] == "overloaded"


async def test_retries_are_bounded_by_retry_before_first_byte(tmp_path: Path) -> None:
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY, retry_before_first_byte=1) as t:
        t.fakes["a"].then(Step.overloaded())
        t.fakes["b"].then(Step.overloaded())
        with pytest.raises(anthropic.APIStatusError) as caught:
            await t.ask()
        assert caught.value.status_code == 529
        assert t.served() == {"a": 1, "b": 1, "c": 0}  # two attempts, c never asked


# 2 retries: they run out on the last account; 5: the pool runs out of accounts first.
@pytest.mark.parametrize("retries", [2, 5])
async def test_when_every_account_fails_the_client_gets_retry_after_of_the_earliest_recovery(
    tmp_path: Path, retries: int
) -> None:
    async with trio(tmp_path, retry_before_first_byte=retries) as t:
        t.fakes["a"].then(Step.rate_limited(retry_after=40))
        t.fakes["b"].then(Step.rate_limited(retry_after=7))
        t.fakes["c"].then(Step.rate_limited(retry_after=90))
        with pytest.raises(anthropic.RateLimitError) as caught:
            await t.ask()
        assert caught.value.response.headers["retry-after"] == "7"
        # Nothing is healthy now: the gateway answers itself, without calling any upstream.
        with pytest.raises(anthropic.APIStatusError) as again:
            await t.ask()
        assert again.value.status_code == 502
        assert again.value.body["error"]["type"] == "api_error"  # type: ignore[index]
        assert (
            "Upstream authentication unavailable: no healthy accounts available (3 rate limited)"
            in again.value.message
        )
        assert again.value.response.headers["retry-after"] == "7"
        async with openai.AsyncOpenAI(base_url=t.gw.url + "/v1", api_key=t.key, max_retries=0) as sdk:
            with pytest.raises(openai.APIStatusError) as bridged:
                await sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert bridged.value.status_code == 502  # the same answer in the OpenAI routes' own shape
        assert "no healthy accounts available (3 rate limited)" in bridged.value.body["message"]  # type: ignore[index]
        assert bridged.value.response.headers["retry-after"] == "7"
        assert t.served() == {"a": 1, "b": 1, "c": 1}


async def test_a_pinned_key_is_served_only_by_its_account(tmp_path: Path) -> None:
    async with trio(tmp_path, key_kwargs={"account": "b"}) as t:
        for _ in range(4):
            assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        t.fakes["b"].then(Step.rate_limited(retry_after=30))
        with pytest.raises(anthropic.RateLimitError) as caught:
            await t.ask()
        assert caught.value.response.headers["retry-after"] == "30"
        assert t.served() == {"a": 0, "b": 5, "c": 0}


async def test_a_key_pinned_to_an_unknown_account_gets_a_clear_502(tmp_path: Path) -> None:
    async with trio(tmp_path, key_kwargs={"account": "ghost"}) as t:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await t.ask()
        assert caught.value.status_code == 502
        assert "ghost" in caught.value.message
        assert t.served() == {"a": 0, "b": 0, "c": 0}


async def test_a_conversation_sticks_to_its_account_while_it_is_healthy(tmp_path: Path) -> None:
    async with trio(tmp_path) as t:
        session = {"x-claude-code-session-id": "5b1f6c9e-conversation"}
        home = (await t.ask(extra_headers=session)).content[0].text  # type: ignore[union-attr]
        for _ in range(4):
            await t.ask()  # other traffic rotates
            assert (await t.ask(extra_headers=session)).content[0].text == home  # type: ignore[union-attr]
        by_user = (await t.ask(metadata={"user_id": "user-42"})).content[0].text  # type: ignore[union-attr]
        for _ in range(3):
            assert (await t.ask(metadata={"user_id": "user-42"})).content[0].text == by_user  # type: ignore[union-attr]
        name = home.removeprefix("served by ")
        t.fakes[name].then(Step.overloaded())
        moved = (await t.ask(extra_headers=session)).content[0].text  # type: ignore[union-attr]
        assert moved != home
        assert (await t.ask(extra_headers=session)).content[0].text == moved  # type: ignore[union-attr]


async def test_401_on_an_oauth_account_refreshes_once_and_resends_to_it(tmp_path: Path) -> None:
    home = tmp_path / "claude-a"
    write_credentials(home, "sk-ant-oat01-revoked-early", "sk-ant-ort01-a-1", expires_at_ms=4_102_444_800_000)
    async with trio(tmp_path, oauth_home_a=home, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].accepted = set()  # the API refuses the current token before its expiry
        t.fakes["a"].grant_refresh("sk-ant-ort01-a-1", "a")
        assert (await t.ask()).content[0].text == "served by a"  # type: ignore[union-attr]
        seen = [r.credential() for r in t.fakes["a"].messages_requests()]
        assert seen == ["sk-ant-oat01-revoked-early", "sk-ant-oat01-a-rotated-1"]
        assert t.served() == {"a": 2, "b": 0, "c": 0}
        entry = (await t.accounts())["a"]
        assert entry["state"] == "healthy" and entry["credential"] == "oauth"
        refresh = entry["refresh"]
        assert (refresh["last_ok"], refresh["failures"], refresh["refreshable"]) == (True, 0, True)
        rotated_expiry = datetime.fromisoformat(refresh["token_expires_at"].replace("Z", "+00:00"))
        assert 28_000 < rotated_expiry.timestamp() - time.time() <= 28_800  # the new token's lifetime
        assert "sk-ant" not in str(entry)


async def test_oauth_account_whose_refresh_fails_is_marked_unhealthy_and_others_serve(tmp_path: Path) -> None:
    home = tmp_path / "claude-a"
    write_credentials(home, "sk-ant-oat01-dead", "sk-ant-ort01-unknown", expires_at_ms=4_102_444_800_000)
    async with trio(tmp_path, oauth_home_a=home, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].accepted = set()
        for _ in range(3):
            assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        assert t.served() == {"a": 1, "b": 3, "c": 0}  # a was tried once, then left alone
        entry = (await t.accounts())["a"]
        assert entry["state"] == "unhealthy"
        assert entry["cooldown_reason"] == "auth"
        assert entry["refresh"]["last_ok"] is False
        assert "sk-ant" not in str(entry)


async def test_concurrency_limit_sends_overflow_elsewhere_and_slots_come_back(tmp_path: Path) -> None:
    async with trio(tmp_path, max_concurrent_a=1, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].then(Step.slow_first_byte(1.0))
        first, second = await asyncio.gather(t.ask(), t.ask())
        texts = sorted([first.content[0].text, second.content[0].text])  # type: ignore[union-attr]
        assert texts == ["served by a", "served by b"]
        async with t.client.messages.stream(model=MODEL, max_tokens=5, messages=HI) as stream:
            assert "".join([c async for c in stream.text_stream]) == "served by a"
        entries = await t.accounts()
        assert [entries[n]["in_flight"] for n in "abc"] == [0, 0, 0]
        assert entries["a"]["max_concurrent"] == 1


async def test_an_account_whose_key_is_missing_is_listed_unhealthy_and_never_breaks_requests(
    tmp_path: Path,
) -> None:
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY, unset_keys=("KEY_A",)) as t:
        entry = (await t.accounts())["a"]
        assert entry["state"] == "unhealthy" and entry["cooldown_reason"] == "credential"
        assert entry["last_error"] == "credential unavailable"
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        assert t.served()["a"] == 0


async def test_oauth_account_still_refused_after_a_fresh_token_is_parked_and_others_serve(
    tmp_path: Path,
) -> None:
    home = tmp_path / "claude-a"
    write_credentials(home, "sk-ant-oat01-a-0", "sk-ant-ort01-a-0", expires_at_ms=4_102_444_800_000)
    async with trio(tmp_path, oauth_home_a=home, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].grant_refresh("sk-ant-ort01-a-0", "a")
        t.fakes["a"].then(Step.unauthorized(), Step.unauthorized())
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        seen = [r.credential() for r in t.fakes["a"].messages_requests()]
        assert seen == ["sk-ant-oat01-a-0", "sk-ant-oat01-a-rotated-1"]  # refreshed once, then gave up
        entry = (await t.accounts())["a"]
        assert entry["state"] == "unhealthy" and entry["cooldown_reason"] == "auth"
        assert entry["refresh"]["last_ok"] is True
        assert 299 <= entry["cooldown_remaining_seconds"] <= 300
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        assert len(t.fakes["a"].messages_requests()) == 2


async def test_an_unreachable_account_is_skipped_and_retried_after_its_backoff(tmp_path: Path) -> None:
    clock = VirtualClock()
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY, clock=clock, outlier_consecutive=1) as t:
        await t.fakes["a"].close()  # a's port now refuses connections
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        entry = (await t.accounts())["a"]
        assert entry["state"] == "cooling_down" and entry["cooldown_reason"] == "connection"
        assert entry["last_error"].startswith("upstream connection failed")
        assert entry["cooldown_remaining_seconds"] == 1  # first failure: the shortest backoff
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        assert t.served()["b"] == 2
        clock.advance(1.05)
        # a is tried again once its backoff ends; still down, so b serves and a's backoff doubles.
        assert (await t.ask()).content[0].text == "served by b"  # type: ignore[union-attr]
        entry = (await t.accounts())["a"]
        assert entry["cooldown_reason"] == "connection" and entry["cooldown_remaining_seconds"] == 2


async def test_when_no_account_is_reachable_the_502_says_when_to_retry(tmp_path: Path) -> None:
    async with trio(tmp_path, outlier_consecutive=1) as t:
        for fake in t.fakes.values():
            await fake.close()
        with pytest.raises(anthropic.APIStatusError) as caught:
            await t.ask()
        assert caught.value.status_code == 502
        assert "Upstream request failed" in caught.value.message
        assert caught.value.response.headers["retry-after"] == "1"  # the first backoff to end
        with pytest.raises(anthropic.APIStatusError) as again:
            await t.ask()  # every account is backing off: answered without trying one
        assert again.value.status_code == 502
        assert "no healthy accounts available (3 unreachable)" in again.value.message
        assert again.value.response.headers["retry-after"] == "1"
        assert {e["cooldown_reason"] for e in (await t.accounts()).values()} == {"connection"}
