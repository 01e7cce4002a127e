"""What a client sees when the upstream misbehaves: 429, 529, cut streams, slow and stalled answers,
and what happens when the client itself goes away."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import anthropic
import pytest

from dsl.model import TimeoutConfig
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import RunningGateway, api_key_account, gateway_config, running_gateway

MODEL = "claude-test-1"
HI = [{"role": "user", "content": "Hi"}]
TWO_ACCOUNTS = (api_key_account("a", "KEY_A"), api_key_account("b", "KEY_B"))
TWO_KEYS = {"KEY_A": "sk-ant-api03-AAAA", "KEY_B": "sk-ant-api03-BBBB"}


async def refused(gw: RunningGateway) -> anthropic.APIStatusError:
    """The error the SDK raises for one plain request through the gateway (which must fail)."""
    client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
    try:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model=MODEL, max_tokens=5, messages=HI)  # type: ignore[arg-type]
    finally:
        await client.close()
    return caught.value


async def test_429_on_the_only_account_is_relayed_with_retry_after(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.rate_limited(retry_after=17))
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        error = await refused(gw)
    assert isinstance(error, anthropic.RateLimitError)
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "17"
    assert error.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


@pytest.mark.parametrize(
    "failure", [Step.rate_limited(5), Step.overloaded(), Step.error(500, "api_error", "boom")]
)
async def test_failure_is_retried_on_the_next_account_before_the_client_sees_it(
    fake: FakeAnthropic, tmp_path: Path, failure: Step
) -> None:
    fake.then(failure)
    config = gateway_config(fake.url, tmp_path / "d", accounts=TWO_ACCOUNTS)
    async with running_gateway(config, TWO_KEYS) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        message = await client.messages.create(model=MODEL, max_tokens=5, messages=HI)  # type: ignore[arg-type]
        await client.close()
    assert message.content[0].text == fake.text  # type: ignore[union-attr]
    used = [r.headers["x-api-key"] for r in fake.messages_requests()]
    assert len(used) == 2 and used[0] != used[1]


async def test_529_reaches_the_client_as_overloaded_when_every_account_is_overloaded(
    fake: FakeAnthropic, tmp_path: Path
) -> None:
    fake.then(Step.overloaded(), Step.overloaded())
    config = gateway_config(fake.url, tmp_path / "d", accounts=TWO_ACCOUNTS)
    async with running_gateway(config, TWO_KEYS) as gw:
        error = await refused(gw)
    assert error.status_code == 529
    assert error.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


async def test_stream_cut_midway_reaches_the_sdk_as_an_error(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.cut_stream(after_events=4))
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        received: list[str] = []
        with pytest.raises(anthropic.APIError) as caught:
            async with client.messages.stream(model=MODEL, max_tokens=5, messages=HI) as stream:  # type: ignore[arg-type]
                async for text in stream.text_stream:
                    received.append(text)
        await client.close()
    assert received == ["Hello"]  # what arrived before the cut was delivered, then a clear error
    assert "interrupted" in str(caught.value).lower()


async def test_error_event_inside_the_stream_passes_through(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.stream_error(after_events=4))
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as caught:
            async with client.messages.stream(model=MODEL, max_tokens=5, messages=HI) as stream:  # type: ignore[arg-type]
                async for _ in stream.text_stream:
                    pass
        await client.close()
    assert "Overloaded" in str(caught.value)


async def test_slow_first_byte_is_a_504_in_anthropic_shape(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.slow_first_byte(3.0))
    timeouts = TimeoutConfig(connect=1.0, first_byte=0.3, idle=5.0)
    async with running_gateway(
        gateway_config(fake.url, tmp_path / "d", claude_home, timeouts=timeouts, retry_before_first_byte=0)
    ) as gw:
        key = await gw.issue_key()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                gw.url + "/v1/messages",
                headers={"x-api-key": key},
                json={"model": MODEL, "max_tokens": 5, "messages": HI},
            ) as response,
        ):
            body = await response.json()
    assert response.status == 504
    assert body["type"] == "error" and body["error"]["type"] == "api_error"


async def test_stalled_stream_ends_with_an_sse_error_event(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.stall(after_events=4, seconds=3.0))  # after the first delta: the stream is committed
    timeouts = TimeoutConfig(connect=1.0, first_byte=5.0, idle=0.3)
    async with running_gateway(
        gateway_config(fake.url, tmp_path / "d", claude_home, timeouts=timeouts)
    ) as gw:
        key = await gw.issue_key()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                gw.url + "/v1/messages",
                headers={"x-api-key": key},
                json={"model": MODEL, "max_tokens": 5, "stream": True, "messages": HI},
            ) as response,
        ):
            text = (await response.read()).decode()
    assert response.status == 200
    assert text.startswith("event: message_start")
    assert text.rstrip().endswith('"message": "Upstream stream timed out"}}')
    assert "event: error" in text


async def test_unreachable_upstream_is_a_502(claude_home: Path, tmp_path: Path) -> None:
    async with FakeAnthropic() as gone:
        url = gone.url
    async with running_gateway(gateway_config(url, tmp_path / "d", claude_home)) as gw:
        error = await refused(gw)
    assert error.status_code == 502
    assert error.body["error"]["type"] == "api_error"  # type: ignore[index]


async def test_client_disconnect_cancels_the_upstream_request(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.stall(after_events=4, seconds=5.0))
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        key = await gw.issue_key()
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                gw.url + "/v1/messages",
                headers={"x-api-key": key},
                json={"model": MODEL, "max_tokens": 5, "stream": True, "messages": HI},
            )
            await response.content.readany()
            response.close()  # the client goes away mid-stream
        for _ in range(200):  # bounded: at most 10 s on a busy machine
            if fake.disconnects:
                break
            await asyncio.sleep(0.05)
    assert fake.disconnects == 1


async def test_client_leaving_before_the_first_byte_frees_the_account(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.slow_first_byte(3.0))
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        key = await gw.issue_key()
        async with aiohttp.ClientSession() as http:
            with pytest.raises(TimeoutError):
                await http.post(
                    gw.url + "/v1/messages",
                    headers={"x-api-key": key},
                    json={"model": MODEL, "max_tokens": 5, "messages": HI},
                    timeout=aiohttp.ClientTimeout(total=0.3),
                )
        for _ in range(200):  # bounded: at most 10 s on a busy machine
            if fake.disconnects:
                break
            await asyncio.sleep(0.05)
        snapshot = gw.pool.snapshot()
    assert fake.disconnects == 1  # the upstream request was cancelled too
    assert [entry["in_flight"] for entry in snapshot] == [0]


async def test_shutdown_past_the_grace_period_ends_open_streams_with_an_error_event(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.stall(after_events=4, seconds=8.0))
    async with aiohttp.ClientSession() as http:
        async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
            gw.ctx.shutdown_grace = 1.0
            key = await gw.issue_key()
            response = await http.post(
                gw.url + "/v1/messages",
                headers={"x-api-key": key},
                json={"model": MODEL, "max_tokens": 5, "stream": True, "messages": HI},
            )
            first = await response.content.readany()
            reader = asyncio.create_task(response.content.read())
        # Leaving the block shuts the gateway down; its grace period (1 s here) is shorter than the stall.
        rest = await asyncio.wait_for(reader, 10)
    assert first.startswith(b"event: message_start")
    assert rest.rstrip().endswith(b'"message": "The gateway is shutting down"}}')


async def test_plain_body_cut_midway_is_a_truncated_response_not_a_short_one(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.then(Step.cut_json())
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        key = await gw.issue_key()
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                gw.url + "/v1/messages",
                headers={"x-api-key": key},
                json={"model": MODEL, "max_tokens": 5, "messages": HI},
            )
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback, no noise


async def test_a_client_leaving_mid_stream_is_still_charged_for_the_input_tokens(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.stall(after_events=4, seconds=30.0))
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        key = await gw.issue_key()
        tokens = gw.tokens
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                gw.url + "/v1/messages",
                headers={"x-api-key": key},
                json={"model": MODEL, "max_tokens": 5, "stream": True, "messages": HI},
            )
            await response.content.readany()  # message_start (12 input tokens) has arrived
            response.close()
        for _ in range(200):  # bounded: at most 10 s
            record = tokens.list()[0]  # type: ignore[attr-defined]
            if record.used_input_tokens:
                break
            await asyncio.sleep(0.05)
    assert record.used_input_tokens == 12
