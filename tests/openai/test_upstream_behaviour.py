"""What the proxy's forwarding loop gives the OpenAI surface: OAuth identity, retries, cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import openai

from dsl.model import TimeoutConfig
from tests.openai.conftest import ACCOUNT_KEY
from tests.openai.upstream import ScriptedAnthropic
from tests.support.fake_anthropic import Step
from tests.support.gateway import (
    RunningGateway,
    api_key_account,
    gateway_config,
    running_gateway,
    write_credentials,
)

IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."
OAUTH_TOKEN = "sk-ant-oat01-subscription-token-for-tests"


async def test_oauth_accounts_get_the_claude_code_identity_for_openai_traffic(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    home = tmp_path / "claude"
    write_credentials(home, OAUTH_TOKEN)
    async with running_gateway(gateway_config(upstream.url, tmp_path / "data", claude_home=home)) as gw:
        key = await gw.issue_key(label="oauth")
        async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
            await sdk.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "x"}],
            )
    seen = upstream.messages_requests()[-1]
    assert seen.credential() == OAUTH_TOKEN
    assert "oauth-2025-04-20" in seen.headers["anthropic-beta"]
    assert [b["text"] for b in seen.json()["system"]] == [IDENTITY, "Be brief."]


async def test_overloaded_account_is_retried_on_the_next_before_the_first_byte(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    accounts = (api_key_account("one", "KEY_ONE"), api_key_account("two", "KEY_TWO"))
    config = gateway_config(upstream.url, tmp_path, accounts=accounts)
    upstream.then(Step.overloaded())
    async with running_gateway(config, {"KEY_ONE": "sk-ant-api-one", "KEY_TWO": "sk-ant-api-two"}) as gw:
        key = await gw.issue_key(label="retry")
        async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
            stream = await sdk.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from the fake upstream"
    credentials = [r.credential() for r in upstream.messages_requests()]
    assert len(credentials) == 2 and len(set(credentials)) == 2


async def test_stalled_upstream_stream_ends_with_a_timeout_error(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    config = gateway_config(
        upstream.url,
        tmp_path,
        accounts=(api_key_account("main", "ACCOUNT_KEY"),),
        timeouts=TimeoutConfig(connect=2.0, first_byte=5.0, idle=1.0),
    )
    upstream.then(Step.stall(after_events=4, seconds=4.0))
    async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        key = await gw.issue_key(label="stall")
        async with aiohttp.ClientSession() as http:
            payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
            async with http.post(
                f"{gw.url}/v1/chat/completions", json=payload, headers={"x-api-key": key}
            ) as r:
                body = await asyncio.wait_for(r.text(), 10)
    assert '"content":"Hello"' in body
    assert (
        '{"error":{"message":"Upstream stream timed out","type":"api_error","code":"gateway_timeout"}}'
        in body
    )
    assert body.endswith("data: [DONE]\n\n") and 'finish_reason":"stop' not in body


async def test_client_going_away_cancels_the_upstream_stream(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    config = gateway_config(upstream.url, tmp_path, accounts=(api_key_account("main", "ACCOUNT_KEY"),))
    upstream.then(Step.stall(after_events=4, seconds=1.0))
    async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        key = await gw.issue_key(label="leaver")
        async with aiohttp.ClientSession() as http:
            payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
            response = await http.post(
                f"{gw.url}/v1/chat/completions", json=payload, headers={"x-api-key": key}
            )
            assert b"chat.completion.chunk" in await response.content.readany()
            response.close()  # the client hangs up mid-stream
        for _ in range(100):  # bounded: at most 10 s on a busy machine
            if upstream.disconnects:
                break
            await asyncio.sleep(0.1)
    assert upstream.disconnects == 1


async def test_the_client_stream_ends_at_message_stop_even_if_the_upstream_lingers(
    gateway: RunningGateway, upstream: ScriptedAnthropic
) -> None:
    upstream.reply([{"type": "text", "text": "Done quickly."}])
    upstream.linger = 10.0
    key = await gateway.issue_key(label="linger")
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
        started = loop.time()
        async with http.post(
            f"{gateway.url}/v1/chat/completions", json=payload, headers={"x-api-key": key}
        ) as r:
            body = await r.text()  # the whole response, up to the end of the HTTP body
        elapsed = loop.time() - started
    assert body.endswith("data: [DONE]\n\n") and '"content":" quickly."' in body
    assert elapsed < 5.0  # far below the upstream's 10 s linger, generous for a busy machine


async def test_shutdown_past_the_grace_period_ends_open_openai_streams_with_an_error(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    config = gateway_config(upstream.url, tmp_path, accounts=(api_key_account("main", "ACCOUNT_KEY"),))
    upstream.then(Step.stall(after_events=4, seconds=8.0), Step.stall(after_events=4, seconds=8.0))
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
    responses = {"model": "gpt-4o", "input": "x", "stream": True}
    async with aiohttp.ClientSession() as http:
        async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
            gw.ctx.shutdown_grace = 1.0
            key = await gw.issue_key(label="shutdown")
            readers = []
            for path, payload in (("/v1/chat/completions", chat), ("/v1/responses", responses)):
                response = await http.post(gw.url + path, json=payload, headers={"x-api-key": key})
                assert response.status == 200
                readers.append(asyncio.create_task(response.text()))
            await asyncio.sleep(0.3)  # both streams are open and waiting on the stalled upstream
        # Leaving the block shuts the gateway down; its grace period (1 s) is shorter than the stall.
        chat_body, responses_body = await asyncio.wait_for(asyncio.gather(*readers), 10)
    assert '"content":"Hello"' in chat_body and '"finish_reason":"stop"' not in chat_body
    assert '"message":"The gateway is shutting down"' in chat_body
    assert chat_body.endswith("data: [DONE]\n\n")
    assert "event: response.failed" in responses_body and "response.completed" not in responses_body
    assert '"message":"The gateway is shutting down"' in responses_body


async def test_shutdown_lets_an_openai_stream_finish_within_the_grace_period(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    config = gateway_config(upstream.url, tmp_path, accounts=(api_key_account("main", "ACCOUNT_KEY"),))
    # The stall outlasts the test server's own cut-off (1 s, rounded up): only the grace period helps.
    upstream.then(Step.stall(after_events=4, seconds=3.0))
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
    async with aiohttp.ClientSession() as http:
        async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
            gw.ctx.shutdown_grace = 8.0
            key = await gw.issue_key(label="grace")
            response = await http.post(
                gw.url + "/v1/chat/completions", json=payload, headers={"x-api-key": key}
            )
            reader = asyncio.create_task(response.text())
            await asyncio.sleep(0.3)
        body = await asyncio.wait_for(reader, 10)
    assert body.endswith("data: [DONE]\n\n") and '"finish_reason":"stop"' in body
    assert "error" not in body


async def test_a_client_leaving_mid_stream_is_still_charged_for_the_tokens_seen(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    config = gateway_config(upstream.url, tmp_path, accounts=(api_key_account("main", "ACCOUNT_KEY"),))
    upstream.then(Step.stall(after_events=4, seconds=30.0), Step.stall(after_events=4, seconds=30.0))
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
    responses = {"model": "gpt-4o", "input": "x", "stream": True}
    async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        tokens = gw.tokens
        async with aiohttp.ClientSession() as http:
            for path, payload in (("/v1/chat/completions", chat), ("/v1/responses", responses)):
                key = await gw.issue_key(label=path)
                response = await http.post(gw.url + path, json=payload, headers={"x-api-key": key})
                await response.content.readany()  # message_start (12 input tokens) has been translated
                response.close()  # the client hangs up while the upstream is still generating
        used: list[int] = []
        for _ in range(200):  # bounded: at most 10 s on a busy machine
            used = sorted(r.used_input_tokens for r in tokens.list())  # type: ignore[attr-defined]
            if all(used):
                break
            await asyncio.sleep(0.05)
    assert used == [12, 12]
