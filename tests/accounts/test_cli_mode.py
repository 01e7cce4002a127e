"""Routing modes `cli` and `hybrid` with the real Claude Code CLI, whose upstream is a stand-in.

The gateway runs `claude -p --output-format stream-json` with the chosen account's credential and
ANTHROPIC_BASE_URL pointing at that account's stand-in; the stand-in therefore sees the real CLI's
requests (its `user-agent: claude-cli/...`, `x-app: cli`).
"""

from __future__ import annotations

import asyncio
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from dsl.model import RoutingMode, RoutingStrategy
from tests.accounts.trio import HI, MODEL, Trio, trio
from tests.support.fake_anthropic import Step
from tests.support.gateway import write_credentials

pytestmark = pytest.mark.skipif(shutil.which("claude") is None, reason="Claude Code CLI not installed")

U = "anthropic-ratelimit-unified-"


def from_cli(request: Any) -> bool:
    agent = request.headers.get("user-agent", "")
    return bool(agent.startswith("claude-cli/") and request.headers.get("x-app") == "cli")


def served_by_cli(t: Trio) -> dict[str, int]:
    return {n: sum(from_cli(r) for r in f.messages_requests()) for n, f in t.fakes.items()}


async def test_cli_mode_answers_a_messages_call_through_the_claude_cli(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.CLI, strategy=RoutingStrategy.PRIORITY) as t:
        message = await t.client.messages.create(
            model=MODEL,
            max_tokens=50,
            system="Answer tersely.",
            messages=[
                {"role": "user", "content": "Say hi"},
                {"role": "assistant", "content": "Hi?"},
                {"role": "user", "content": "Again please"},
            ],
        )
        assert message.content[0].text == "served by a"  # type: ignore[union-attr]
        assert message.usage.input_tokens == 12 and message.usage.output_tokens == 7
        assert message.stop_reason == "end_turn"
        [seen] = t.fakes["a"].messages_requests()
        assert from_cli(seen)
        assert seen.headers["x-api-key"] == "sk-ant-api03-a"  # the account's key, not the client's la_sk_
        body = seen.json()
        assert body["model"] == MODEL
        assert any(block.get("text") == "Answer tersely." for block in body["system"])
        prompt = str(body["messages"])
        assert "Again please" in prompt and "Hi?" in prompt and "Say hi" in prompt
        assert body.get("tools") in (None, [])  # the CLI's own tools are off
        assert (await t.accounts())["a"]["used"] == 1


async def test_cli_mode_streams_the_cli_events_as_anthropic_sse(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.CLI, strategy=RoutingStrategy.PRIORITY) as t:
        async with t.client.messages.stream(model=MODEL, max_tokens=50, messages=HI) as stream:
            chunks = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
        assert "".join(chunks) == "served by a" and len(chunks) == 3
        assert final.content[0].text == "served by a"  # type: ignore[union-attr]
        assert final.usage.output_tokens == 7
        assert served_by_cli(t) == {"a": 1, "b": 0, "c": 0}


async def test_cli_mode_fails_over_when_the_subscription_window_is_exhausted(tmp_path: Path) -> None:
    home = tmp_path / "claude-a"
    write_credentials(home, "sk-ant-oat01-account-a", "sk-ant-ort01-a", expires_at_ms=4_102_444_800_000)
    async with trio(
        tmp_path, oauth_home_a=home, mode=RoutingMode.CLI, strategy=RoutingStrategy.PRIORITY
    ) as t:
        reset = 1_900_000_000
        t.fakes["a"].then(
            Step.rate_limited(
                retry_after=5,
                headers={
                    f"{U}status": "rejected",
                    f"{U}5h-status": "rejected",
                    f"{U}5h-reset": str(reset),
                    f"{U}representative-claim": "five_hour",
                    f"{U}reset": str(reset),
                },
            )
        )
        message = await t.ask()
        assert message.content[0].text == "served by b"  # type: ignore[union-attr]
        assert served_by_cli(t) == {"a": 1, "b": 1, "c": 0}
        [seen] = t.fakes["a"].messages_requests()
        assert seen.headers["authorization"] == "Bearer sk-ant-oat01-account-a"
        entry = (await t.accounts())["a"]
        assert entry["state"] == "quota_exhausted" and entry["cooldown_reason"] == "quota_5h"


async def test_hybrid_falls_back_to_the_cli_when_direct_is_refused(tmp_path: Path) -> None:
    async with trio(
        tmp_path, mode=RoutingMode.HYBRID, strategy=RoutingStrategy.PRIORITY, key_kwargs={"account": "a"}
    ) as t:
        # The first (direct) call is refused as if the credential were only good for Claude Code.
        t.fakes["a"].then(Step.error(401, "authentication_error", "only authorized for use with Claude Code"))
        message = await t.ask()
        assert message.content[0].text == "served by a"  # type: ignore[union-attr]
        direct, via_cli = t.fakes["a"].messages_requests()
        assert not from_cli(direct) and from_cli(via_cli)
        # The account is parked for direct traffic now; the pinned key keeps being served by it
        # through the CLI, never by another account.
        again = await t.ask()
        assert again.content[0].text == "served by a"  # type: ignore[union-attr]
        assert from_cli(t.fakes["a"].messages_requests()[-1])
        assert len(t.fakes["a"].messages_requests()) == 3
        assert t.served()["b"] == t.served()["c"] == 0
        assert (await t.accounts())["a"]["cooldown_reason"] == "auth"
        async with t.client.messages.stream(model=MODEL, max_tokens=5, messages=HI) as stream:
            assert "".join([c async for c in stream.text_stream]) == "served by a"
        assert from_cli(t.fakes["a"].messages_requests()[-1])


async def test_hybrid_keeps_direct_answers_and_does_not_fall_back_on_client_errors(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.HYBRID, strategy=RoutingStrategy.PRIORITY) as t:
        assert (await t.ask()).content[0].text == "served by a"  # type: ignore[union-attr]
        t.fakes["a"].then(Step.error(400, "invalid_request_error", "bad"))
        with pytest.raises(anthropic.BadRequestError):
            await t.ask()
        assert served_by_cli(t) == {"a": 0, "b": 0, "c": 0}


async def test_cli_mode_refuses_what_the_cli_cannot_express(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.CLI) as t:
        tool = {"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}
        with pytest.raises(anthropic.BadRequestError) as caught:
            await t.client.messages.create(model=MODEL, max_tokens=5, messages=HI, tools=[tool])  # type: ignore[list-item]
        assert "claude CLI" in caught.value.message
        assert t.served() == {"a": 0, "b": 0, "c": 0}


async def test_claude_cli_bin_selects_the_binary(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    wrapper = tmp_path / "my-claude"
    wrapper.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{shutil.which("claude")}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    async with trio(tmp_path, mode=RoutingMode.CLI, claude_cli_bin=str(wrapper)) as t:
        assert (await t.ask()).content[0].text.startswith("served by")  # type: ignore[union-attr]
    assert marker.exists()
    async with trio(tmp_path / "2", mode=RoutingMode.CLI, claude_cli_bin=str(tmp_path / "missing")) as t:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await t.ask()
        assert caught.value.status_code == 502
        assert "cannot run the claude CLI" in caught.value.message
        assert (await t.accounts())["a"]["state"] == "healthy"  # a missing binary is not the account's fault


async def test_client_going_away_stops_the_cli_and_its_upstream_call(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.CLI, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].then(Step.stall(after_events=4, seconds=20))
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                t.gw.url + "/v1/messages",
                headers={"x-api-key": t.key},
                json={"model": MODEL, "max_tokens": 5, "stream": True, "messages": HI, "system": "Be brief."},
            )
            first = await response.content.readany()
            assert first.startswith(b"event: message_start")
            response.close()  # the client goes away mid-stream
        for _ in range(100):
            if t.fakes["a"].disconnects:
                break
            await asyncio.sleep(0.05)
        assert t.fakes["a"].disconnects == 1  # the CLI was killed, so its upstream call was dropped
        homes = tmp_path / "data" / "cli-home"
        for _ in range(100):
            if not list(homes.rglob("system-prompt-*")):
                break
            await asyncio.sleep(0.05)
        assert not list(homes.rglob("system-prompt-*"))  # its system prompt file went with it


async def test_openai_chat_completions_go_through_the_cli_too(tmp_path: Path) -> None:
    async with trio(
        tmp_path, mode=RoutingMode.CLI, strategy=RoutingStrategy.PRIORITY, max_concurrent_a=1
    ) as t:
        client = openai.AsyncOpenAI(base_url=t.gw.url + "/v1", api_key=t.key, max_retries=0)
        try:
            chat = await client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            )
            assert chat.choices[0].message.content == "served by a"
            assert chat.usage is not None and chat.usage.completion_tokens == 7
            stream = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            assert text == "served by a"
        finally:
            await client.close()
        assert served_by_cli(t) == {"a": 2, "b": 0, "c": 0}
        assert (await t.accounts())["a"]["in_flight"] == 0  # slots came back (max_concurrent 1)


async def test_a_large_system_prompt_reaches_the_cli_off_its_command_line(tmp_path: Path) -> None:
    system = "House rules.\n" + "rule: be kind. " * 20_000  # ~300 KB: more than one argv entry may hold
    async with trio(tmp_path, mode=RoutingMode.CLI, strategy=RoutingStrategy.PRIORITY) as t:
        message = await t.client.messages.create(model=MODEL, max_tokens=5, system=system, messages=HI)
        assert message.content[0].text == "served by a"  # type: ignore[union-attr]
        [seen] = t.fakes["a"].messages_requests()
        assert any(block.get("text") == system for block in seen.json()["system"])
        # The prompt file lived in the account's scratch home only while the CLI started.
        assert not list((tmp_path / "data" / "cli-home").rglob("*.txt"))


async def test_hybrid_keeps_serving_through_the_cli_accounts_direct_refused(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.HYBRID, strategy=RoutingStrategy.PRIORITY) as t:
        refused = Step.error(401, "authentication_error", "only authorized for use with Claude Code")
        for fake in t.fakes.values():
            fake.then(refused)  # every account refuses the first direct call
        first = await t.ask()
        assert first.content[0].text == "served by c"  # type: ignore[union-attr]  # the last one refused
        assert {e["cooldown_reason"] for e in (await t.accounts()).values()} == {"auth"}
        # Nothing is left for direct traffic: the CLI is run with an account direct refused, not
        # with the router's own (absent) login.
        second = await t.ask()
        assert second.content[0].text == "served by a"  # type: ignore[union-attr]
        assert from_cli(t.fakes["a"].messages_requests()[-1])
        assert served_by_cli(t) == {"a": 1, "b": 0, "c": 1}


async def test_hybrid_does_not_serve_a_drained_pinned_account_through_the_cli(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.HYBRID, key_kwargs={"account": "a"}) as t:
        t.gw.pool.drain("a")
        with pytest.raises(anthropic.APIStatusError) as caught:
            await t.ask()
        assert caught.value.status_code == 502
        assert "the account 'a' this key is pinned to is drained" in caught.value.message
        assert t.served() == {"a": 0, "b": 0, "c": 0}


async def test_hybrid_fallback_that_fails_too_says_when_the_account_recovers(tmp_path: Path) -> None:
    async with trio(tmp_path, mode=RoutingMode.HYBRID, key_kwargs={"account": "a"}) as t:
        reset = int(time.time()) + 600
        quota = {
            f"{U}status": "rejected",
            f"{U}5h-status": "rejected",
            f"{U}5h-reset": str(reset),
            f"{U}representative-claim": "five_hour",
            f"{U}reset": str(reset),
        }
        t.fakes["a"].then(
            Step.rate_limited(retry_after=5, headers=quota),  # direct
            Step.rate_limited(retry_after=5, headers=quota),
        )  # through the CLI
        with pytest.raises(anthropic.RateLimitError) as caught:
            await t.ask()
        assert 590 <= int(caught.value.response.headers["retry-after"]) <= 600  # the quota reset, not 5 s
        direct, via_cli = t.fakes["a"].messages_requests()
        assert not from_cli(direct) and from_cli(via_cli)
