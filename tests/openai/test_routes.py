"""Route behaviour around the translation: budgets, toggles, fallbacks, providers without a bridge."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from dsl.model import FeaturesConfig, UpstreamProvider
from tests.openai.conftest import ACCOUNT_KEY, config_for
from tests.openai.upstream import ScriptedAnthropic
from tests.support.fake_anthropic import Step
from tests.support.gateway import RunningGateway, running_gateway


async def test_token_usage_is_charged_to_the_key_streamed_and_not(
    gateway: RunningGateway, upstream: ScriptedAnthropic
) -> None:
    tokens: Any = gateway.tokens
    issued = await tokens.issue(label="budget", max_tokens=1000)
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=issued.token, max_retries=0) as sdk:
        await sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        stream = await sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
        )
        async for _ in stream:
            pass
        await sdk.responses.create(model="gpt-4o", input="x")
    record = tokens.get(issued.record.id)
    assert (record.used_requests, record.used_input_tokens, record.used_output_tokens) == (3, 36, 21)


async def test_json_answer_to_a_stream_request_still_streams(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    upstream.then(Step.json_for_stream(), Step.json_for_stream())
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "Hello from the fake upstream"
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    async with client.responses.stream(model="gpt-4o", input="x") as events:
        final = await events.get_final_response()
    assert final.output_text == "Hello from the fake upstream"


async def test_disabled_openai_surface_is_gone_in_openai_shape(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    config = config_for(upstream.url, tmp_path, features=FeaturesConfig(openai_api=False))
    async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        key = await gw.issue_key(label="off")
        async with aiohttp.ClientSession() as http:
            for method, path in (
                ("POST", "/v1/chat/completions"),
                ("POST", "/v1/responses"),
                ("GET", "/v1/models"),
            ):
                async with http.request(
                    method, gw.url + path, headers={"authorization": f"Bearer {key}"}
                ) as r:
                    assert r.status == 404
                    assert set((await r.json())["error"]) == {"message", "type", "code"}
    assert upstream.requests == []


async def test_crater_without_its_inbox_is_a_clear_502_and_never_reaches_the_anthropic_upstream(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    # Every provider now has an OpenAI surface (the 501 for "no bridge in this build" is gone); a
    # provider missing what it needs still answers in the OpenAI shape and sends nothing elsewhere.
    base = config_for(upstream.url, tmp_path)
    config = dataclasses.replace(
        base, upstream=dataclasses.replace(base.upstream, provider=UpstreamProvider.CRATER)
    )
    async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        key = await gw.issue_key(label="crater")
        async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
            with pytest.raises(openai.APIStatusError) as caught:
                await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 502 and "CRATER_FORGEFED_INBOX" in caught.value.message
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "must be a JSON object")],
)
async def test_unreadable_bodies_are_openai_shaped_400s(
    gateway: RunningGateway, body: bytes, message: str
) -> None:
    key = await gateway.issue_key(label="bad-body")
    async with aiohttp.ClientSession() as http:
        for path in ("/v1/chat/completions", "/v1/responses"):
            headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
            async with http.post(gateway.url + path, data=body, headers=headers) as response:
                assert response.status == 400
                error = (await response.json())["error"]
                assert message in error["message"] and error["type"] == "invalid_request_error"


async def test_seed_stream_query_flag(gateway: RunningGateway) -> None:
    key = await gateway.issue_key(label="query")
    async with aiohttp.ClientSession() as http:
        payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
        url = f"{gateway.url}/v1/chat/completions?stream=true"
        async with http.post(url, json=payload, headers={"x-api-key": key}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            body = await response.text()
    assert body.endswith("data: [DONE]\n\n") and '"finish_reason":"stop"' in body
