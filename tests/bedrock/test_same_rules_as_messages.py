"""Point 5: a conversation sent through Bedrock or Vertex is treated exactly as on `/v1/messages`.

One gateway with a subscription (OAuth) account, one key per surface, the same plain and streamed
request on each: the upstream sees the same Messages body (identity block added, OAuth beta
merged), each key is charged the same tokens and requests, and the metrics count the same model,
account and usage for each surface's route. A key's request budget stops a Bedrock call too.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import pytest
from anthropic import AsyncAnthropicVertex
from botocore.exceptions import ClientError

from tests.bedrock.clients import ClientMaker
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import RunningGateway, gateway_config, running_gateway, write_credentials
from tests.support.prometheus_text import get_text, series

OAUTH_ACCESS = "sk-ant-oat01-SURFACES-ACCESS"
IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."
SONNET = "claude-sonnet-4-5-20250929"
MESSAGES = [{"role": "user", "content": "Same question everywhere"}]


@pytest.fixture
def oauth_home(tmp_path: Path) -> Path:
    home = tmp_path / "claude"
    write_credentials(home, OAUTH_ACCESS, "sk-ant-ort01-SURFACES", expires_at_ms=4_102_444_800_000)
    return home


@pytest.fixture
async def gw(
    fake: FakeAnthropic, oauth_home: Path, tmp_path: Path, tls: ssl.SSLContext
) -> AsyncIterator[RunningGateway]:
    config = gateway_config(fake.url, tmp_path / "data", oauth_home)
    async with running_gateway(config, ssl_context=tls) as running:
        yield running


async def via_messages(gw: RunningGateway, key: str) -> None:
    client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
    await client.messages.create(model=SONNET, max_tokens=50, messages=MESSAGES)  # type: ignore[arg-type]
    async with client.messages.stream(model=SONNET, max_tokens=50, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        await stream.get_final_message()
    await client.close()


async def via_vertex(gw: RunningGateway, key: str) -> None:
    client = AsyncAnthropicVertex(
        access_token=key, region="us-east5", project_id="p", base_url=f"{gw.url}/v1", max_retries=0
    )
    await client.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=50, messages=MESSAGES)  # type: ignore[arg-type]
    async with client.messages.stream(
        model="claude-sonnet-4-5@20250929",
        max_tokens=50,
        messages=MESSAGES,  # type: ignore[arg-type]
    ) as stream:
        await stream.get_final_message()
    await client.close()


async def via_bedrock(gw: RunningGateway, key: str, bedrock_clients: ClientMaker) -> None:
    client = bedrock_clients(gw, key)
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": MESSAGES})
    model = f"anthropic.{SONNET}-v1:0"

    def call() -> None:
        client.invoke_model(modelId=model, body=body)["body"].read()
        for _ in client.invoke_model_with_response_stream(modelId=model, body=body)["body"]:
            pass

    await asyncio.to_thread(call)


async def own_usage(gw: RunningGateway, key: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/api/tokens/self", headers=headers) as r:
        view: dict[str, Any] = await r.json()
    return {k: view[k] for k in ("used_requests", "used_input_tokens", "used_output_tokens")}


async def test_bedrock_and_vertex_follow_the_messages_rules(
    fake: FakeAnthropic, gw: RunningGateway, bedrock_clients: ClientMaker
) -> None:
    keys = {name: await gw.issue_key(label=name) for name in ("messages", "bedrock", "vertex")}
    await via_messages(gw, keys["messages"])
    await via_bedrock(gw, keys["bedrock"], bedrock_clients)
    await via_vertex(gw, keys["vertex"])
    usage = {name: await own_usage(gw, key) for name, key in keys.items()}
    _, _, text = await get_text(f"{gw.url}/metrics")

    sent = fake.messages_requests()
    assert len(sent) == 6
    bodies = [seen.json() for seen in sent]
    for seen, body in zip(sent, bodies, strict=True):
        assert seen.headers["authorization"] == f"Bearer {OAUTH_ACCESS}"
        assert "oauth-2025-04-20" in seen.headers["anthropic-beta"].split(",")
        assert body["system"][0]["text"] == IDENTITY
        assert all(key not in json.dumps(seen.headers) for key in keys.values())
    plain = [{k: v for k, v in b.items() if k != "stream"} for b in bodies]
    assert plain[0] == plain[2] == plain[4] and plain[0]["model"] == SONNET
    assert [b.get("stream", False) for b in bodies] == [False, True] * 3

    assert usage["messages"] == usage["bedrock"] == usage["vertex"]
    assert usage["messages"] == {"used_requests": 2, "used_input_tokens": 24, "used_output_tokens": 14}

    got = series(text)
    durations = {
        dict(labels)["route"]: (dict(labels), value)
        for (name, labels), value in got.items()
        if name == "gen_ai_server_request_duration_seconds_count"
    }
    surface_routes = {
        "/v1/messages",
        "/model/{id}/invoke",
        "/model/{id}/invoke-with-response-stream",
        "vertex:rawPredict",
        "vertex:streamRawPredict",
    }
    assert surface_routes <= set(durations), durations
    for route in surface_routes:
        labels, _ = durations[route]
        assert labels["model"] == SONNET and labels["status_class"] == "2xx", labels
    tokens = {
        dict(labels)["gen_ai_token_type"]: value
        for (name, labels), value in got.items()
        if name == "link_assistant_token_usage_total"
    }
    assert tokens["input"] == 3 * 24 and tokens["output"] == 3 * 14


async def test_a_spent_request_budget_stops_bedrock_like_messages(
    fake: FakeAnthropic, gw: RunningGateway, bedrock_clients: ClientMaker
) -> None:
    key = await gw.issue_key(label="one-shot", max_requests=1)
    client = bedrock_clients(gw, key)
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": MESSAGES})
    await asyncio.to_thread(lambda: client.invoke_model(modelId=SONNET, body=body))
    with pytest.raises(ClientError) as caught:
        await asyncio.to_thread(lambda: client.invoke_model(modelId=SONNET, body=body))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(fake.messages_requests()) == 1
