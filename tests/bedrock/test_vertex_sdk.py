"""The anthropic SDK's `AnthropicVertex` against the gateway: create, stream, count tokens, errors."""

from __future__ import annotations

import anthropic
import pytest
from anthropic import AsyncAnthropicVertex

from dsl.model import RouterConfig
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-sonnet-4-5@20250929"
SONNET = "claude-sonnet-4-5-20250929"
PATH = "/v1/projects/p/locations/us-east5/publishers/anthropic/models"


def vertex(gw: RunningGateway, key: str) -> AsyncAnthropicVertex:
    return AsyncAnthropicVertex(
        access_token=key, region="us-east5", project_id="p", base_url=f"{gw.url}/v1", max_retries=0
    )


async def test_create_and_stream_through_vertex_paths(fake: FakeAnthropic, config: RouterConfig) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = vertex(gw, await gw.issue_key(label="vertex"))
        message = await client.messages.create(
            model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "Hi"}]
        )
        async with client.messages.stream(
            model=MODEL,
            max_tokens=32,
            messages=[{"role": "user", "content": "Hi"}],
            extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
        ) as stream:
            text = "".join([chunk async for chunk in stream.text_stream])
        counted = await client.messages.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}]
        )
        await client.close()
    assert message.content[0].type == "text" and message.content[0].text == fake.text
    assert text == fake.text
    assert counted.input_tokens > 0
    plain, streamed = fake.messages_requests()
    assert plain.json()["model"] == SONNET and "anthropic_version" not in plain.json()
    assert streamed.json()["stream"] is True
    assert "interleaved-thinking-2025-05-14" in streamed.headers["anthropic-beta"]
    [count] = [r for r in fake.requests if r.path == "/v1/messages/count_tokens"]
    assert count.json()["model"] == SONNET and "anthropic_version" not in count.json()
    assert all(r.headers["x-api-key"].startswith("sk-ant-api03-ACCOUNT-") for r in fake.requests)


async def test_upstream_and_gateway_errors_arrive_in_anthropic_shape(
    fake: FakeAnthropic, config: RouterConfig
) -> None:
    fake.then(Step.rate_limited(30), Step.rate_limited(30))
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = vertex(gw, await gw.issue_key(label="vertex"))
        with pytest.raises(anthropic.RateLimitError):
            await client.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
        google = vertex(gw, "ya29.a0AfH6SMBx-google-access-token")
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await google.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
        body = caught.value.body
        assert isinstance(body, dict) and body["error"]["type"] == "authentication_error"
        assert "ANTHROPIC_VERTEX_BASE_URL" in body["error"]["message"]
        assert "ya29" not in body["error"]["message"]
        await client.close()
        await google.close()
    assert len(fake.messages_requests()) == 2  # both accounts tried; the Google token never went upstream


async def test_only_anthropic_publisher_actions_are_served(fake: FakeAnthropic, config: RouterConfig) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        key = await gw.issue_key()
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        for path in (
            "/v1/projects/p/locations/l/publishers/google/models/gemini:rawPredict",
            f"{PATH}/count-tokens:streamRawPredict",
        ):
            with pytest.raises(anthropic.NotFoundError):
                await client.post(path, body={"max_tokens": 1, "messages": []}, cast_to=object)
        await client.close()
    assert fake.requests == []
