"""Prompt-cache tokens reported by the upstream reach /metrics and /v1/usage by type, for plain and
streamed answers (the shared fake upstream reports no cache use, so this stand-in does)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anthropic
import pytest
from aiohttp import web

from tests.support.anthropic_wire import message_events, message_json, sse_frame
from tests.support.gateway import api_key_account, gateway_config, running_gateway
from tests.support.ports import serving
from tests.support.prometheus_text import get_text, series

MODEL = "claude-cache-1"
USAGE = {"input_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 30}


async def messages(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    answer = message_json(MODEL, "cached answer", output_tokens=7)
    answer["usage"].update(USAGE)
    if not body.get("stream"):
        return web.json_response(answer)
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    frames = message_events(MODEL, "cached answer", output_tokens=7)
    start = {**answer, "content": [], "stop_reason": None, "usage": {**answer["usage"], "output_tokens": 1}}
    assert json.loads(frames[0].split(b"data: ", 1)[1])["type"] == "message_start"
    frames[0] = sse_frame("message_start", {"type": "message_start", "message": start})
    for frame in frames:
        await response.write(frame)
    await response.write_eof()
    return response


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    async with serving(app) as url:
        yield url


async def test_cache_read_and_write_tokens_are_counted_by_type(upstream: str, tmp_path: Path) -> None:
    config = gateway_config(upstream, tmp_path / "data", accounts=(api_key_account("solo", "SOLO_KEY"),))
    async with running_gateway(config, {"SOLO_KEY": "sk-ant-api03-solo"}) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        plain = await client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
        assert plain.usage.cache_read_input_tokens == 100
        async with client.messages.stream(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            streamed = await stream.get_final_message()
        assert streamed.usage.cache_creation_input_tokens == 30
        await client.close()
        _, _, text = await get_text(f"{gw.url}/metrics")
        _, _, usage = await get_text(f"{gw.url}/v1/usage")
    by_type: dict[str, float] = {}
    per_request: dict[str, float] = {}
    for (name, labels), value in series(text).items():
        kind = dict(labels).get("gen_ai_token_type", "")
        if name == "link_assistant_token_usage_total":
            assert dict(labels)["model"] == MODEL and dict(labels)["account"] == "solo"
            by_type[kind] = by_type.get(kind, 0) + value
        if name == "gen_ai_client_token_usage_count":
            per_request[kind] = value
    expected = {"input": 10, "output": 14, "cache_read": 200, "cache_write": 60}
    assert by_type == expected
    assert per_request == dict.fromkeys(expected, 2)  # one observation per request and type
    assert json.loads(usage)["token_usage"] == expected
