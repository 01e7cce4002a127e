"""The official Anthropic SDK through the gateway: the answer arrives, the upstream sees the real
credential and never the la_sk key, and the request passes through as the client sent it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import anthropic
import pytest
from yarl import URL

from tests.gateway.conftest import OAUTH_ACCESS
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import api_key_account, gateway_config, running_gateway

MODEL = "claude-test-1"
IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."


def assert_upstream_saw_real_credential(fake: FakeAnthropic, key: str) -> None:
    assert fake.requests
    for seen in fake.requests:
        assert seen.headers.get("authorization") == f"Bearer {OAUTH_ACCESS}"
        assert "x-api-key" not in seen.headers
        assert key not in json.dumps(seen.headers)
        assert key.encode() not in seen.body


@pytest.mark.parametrize("as_auth_token", [False, True])
async def test_messages_create(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, as_auth_token: bool
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key(label="alice")
        auth = {"auth_token": key, "api_key": None} if as_auth_token else {"api_key": key}
        client = anthropic.AsyncAnthropic(base_url=gw.url, max_retries=0, **auth)
        message = await client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
        await client.close()
    assert message.content[0].text == "Hello from the fake upstream"  # type: ignore[union-attr]
    assert message.usage.input_tokens == 12
    assert_upstream_saw_real_credential(fake, key)
    seen = fake.requests[0]
    assert "accept-encoding" not in seen.headers  # plain bytes back, so usage stays readable
    assert seen.headers["anthropic-beta"] == "oauth-2025-04-20"
    assert seen.headers["anthropic-version"]  # the SDK's own version, kept as sent
    assert seen.json()["system"] == [{"type": "text", "text": IDENTITY}]


async def test_messages_stream(fake: FakeAnthropic, claude_home: Path, tmp_path: Path) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key(label="stream")
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        async with client.messages.stream(
            model=MODEL, max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
        await client.close()
        record = gw.tokens.get(_token_id(gw, key))
    assert "".join(pieces) == "Hello from the fake upstream"
    assert len(pieces) > 1  # arrived as several deltas, not one buffered blob
    assert final.usage.output_tokens == 7
    assert_upstream_saw_real_credential(fake, key)
    assert fake.requests[0].json()["system"] == [
        {"type": "text", "text": IDENTITY},
        {"type": "text", "text": "Be brief."},
    ]
    assert record.used_requests == 1
    assert (record.used_input_tokens, record.used_output_tokens) == (12, 7)


def _token_id(gw: object, key: str) -> str:
    records = gw.tokens.list()
    assert len(records) == 1
    return str(records[0].id)


async def test_count_tokens(fake: FakeAnthropic, claude_home: Path, tmp_path: Path) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key(label="count")
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        result = await client.messages.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": "Hello"}]
        )
        await client.close()
    assert result.input_tokens > 0
    assert fake.requests[0].path == "/v1/messages/count_tokens"
    assert "system" not in fake.requests[0].json()  # identity goes only on /v1/messages
    assert_upstream_saw_real_credential(fake, key)


async def test_body_and_query_pass_through_verbatim(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    body = json.dumps(
        {
            "model": MODEL,
            "max_tokens": 5,
            "system": [{"type": "text", "text": IDENTITY}],
            "messages": [{"role": "user", "content": "Hi  \u00e9"}],
            "metadata": {"user_id": '{"a": 1}'},
        },
        indent=3,
    ).encode()
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key()
        async with aiohttp.ClientSession() as http:
            for path in (
                "/v1/messages?beta=true",
                "/api/latest/anthropic/v1/messages?beta=true&x=a%26b%3Dc%20d&empty=&flag",
            ):
                async with http.post(
                    URL(gw.url + path, encoded=True), data=body, headers={"x-api-key": key}
                ) as response:
                    assert response.status == 200
                    assert (await response.json())["type"] == "message"
    assert [s.body for s in fake.requests] == [body, body]
    assert [(s.path, s.query) for s in fake.requests] == [
        ("/v1/messages", "beta=true"),
        ("/v1/messages", "beta=true&x=a%26b%3Dc%20d&empty=&flag"),
    ]


async def test_api_key_account_uses_x_api_key_without_oauth_extras(
    fake: FakeAnthropic, tmp_path: Path
) -> None:
    config = gateway_config(fake.url, tmp_path / "data", accounts=(api_key_account("team", "TEAM_KEY"),))
    async with running_gateway(config, {"TEAM_KEY": "sk-ant-api03-TEAMKEY"}) as gw:
        key = await gw.issue_key()
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        message = await client.messages.create(
            model=MODEL,
            max_tokens=5,
            messages=[{"role": "user", "content": "Hi"}],
            extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
        )
        await client.close()
    assert message.content
    seen = fake.requests[0]
    assert seen.headers["x-api-key"] == "sk-ant-api03-TEAMKEY"
    assert "authorization" not in seen.headers
    assert seen.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert "system" not in seen.json()


async def test_identity_toggle_off_forwards_untouched(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    from dsl.model import FeaturesConfig

    config = gateway_config(
        fake.url, tmp_path / "data", claude_home, features=FeaturesConfig(claude_code_identity=False)
    )
    async with running_gateway(config) as gw:
        key = await gw.issue_key()
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        await client.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "Hi"}])
        await client.close()
    assert "system" not in fake.requests[0].json()


async def test_api_key_account_without_its_key_is_named_at_start_and_refused_cleanly(
    fake: FakeAnthropic, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = gateway_config(fake.url, tmp_path / "data", accounts=(api_key_account("team", "TEAM_KEY"),))
    with caplog.at_level(logging.WARNING, logger="gateway.credentials.build"):
        async with running_gateway(config, {}) as gw:
            client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
            with pytest.raises(anthropic.APIStatusError) as raised:
                await client.messages.create(
                    model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "Hi"}]
                )
            await client.close()
    assert "account team: API key env:TEAM_KEY is not set; account skipped" in caplog.messages
    assert raised.value.status_code == 502
    assert raised.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert fake.messages_requests() == []


async def test_body_too_deep_for_the_identity_check_is_forwarded_as_sent(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    body = b'{"model":"m","max_tokens":5,"messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    async with (
        running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw,
        aiohttp.ClientSession() as http,
    ):
        headers = {"x-api-key": await gw.issue_key(), "content-type": "application/json"}
        async with http.post(gw.url + "/v1/messages", data=body, headers=headers) as response:
            answer = await response.json()
    # The upstream's own 400 reaches the client, not a gateway 500.
    assert (response.status, answer["error"]["type"]) == (400, "invalid_request_error")
    assert [seen.body for seen in fake.messages_requests()] == [body]
