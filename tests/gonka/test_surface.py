"""The OpenAI-forwarding surface the Gonka backend sits behind: pure translator and codec behaviour."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import GatewayError
from gateway.exchange.interface import Incoming, RawTarget, Relay, Whole
from gateway.gonka.surface import HiddenUsageCodec, OpenAIForward, OpenAIUsage
from gateway.openai.bridge import OpenAIApi
from gateway.tokens.records import TokenRecord


async def nowhere(path: str, body: bytes) -> tuple[RawTarget, list[tuple[str, str]]]:
    return RawTarget("http://127.0.0.1:9" + path, "gonka"), [("x-signed", "yes")]


async def call_for(body: bytes, path: str = "/v1/chat/completions", query: str = "") -> Any:
    incoming = Incoming("POST", path, query, {}, body)
    forward = OpenAIForward(OpenAIApi(path), "default/model", nowhere)
    return await forward.translator(incoming, TokenRecord(id="t"))


@pytest.mark.parametrize(
    ("body", "query", "path", "model", "stream"),
    [
        (b'{"messages":[]}', "", "/v1/chat/completions", "default/model", None),
        (b'{"model":"","messages":[]}', "", "/v1/chat/completions", "default/model", None),
        (b'{"model":"mine","messages":[]}', "stream=true", "/v1/chat/completions", "mine", True),
        (b'{"model":"mine","input":"x"}', "stream=true", "/v1/responses", "mine", None),  # chat only
    ],
)
async def test_the_call_is_the_body_with_the_default_model(
    body: bytes, query: str, path: str, model: str, stream: bool | None
) -> None:
    call = (await call_for(body, path, query)).call
    sent = json.loads(call.body)
    assert (sent["model"], sent.get("stream"), call.model, call.path) == (model, stream, model, path)
    assert b" " not in call.body  # compact: the bytes that are signed are the bytes that are sent
    assert ("x-signed", "yes") in call.headers and call.target.url.endswith(path)


@pytest.mark.parametrize(("raw", "message"), [(b"{no", "not valid JSON"), (b"[1]", "must be a JSON object")])
async def test_bad_bodies_are_400s(raw: bytes, message: str) -> None:
    with pytest.raises(GatewayError) as caught:
        await call_for(raw)
    assert caught.value.status == 400 and message in caught.value.message


async def test_errors_are_read_whole_and_streams_fail_in_band_in_openai_shape() -> None:
    translator = await call_for(b'{"messages":[]}')
    plan = translator.answer(429, "Too Many", {"retry-after": "3", "content-type": "text/plain"})
    assert isinstance(plan, Whole)
    with pytest.raises(GatewayError) as caught:
        plan.convert(b"Transfer Agent capacity reached. Try another TA")
    assert caught.value.status == 429 and caught.value.headers == {"retry-after": "3"}
    assert "capacity reached" in caught.value.message
    relay = translator.answer(200, "OK", {"content-type": "text/event-stream"})
    assert isinstance(relay, Relay)
    relay.codec.feed(b'data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}\n\ndata: {"x')
    frame = relay.codec.fail(GatewayError(502, "api_error", "Upstream stream interrupted"))
    assert frame is not None and frame.startswith(b"\n\ndata: {") and frame.endswith(b"\n\n")
    assert json.loads(frame.strip()[len(b"data: ") :])["error"]["message"] == "Upstream stream interrupted"
    assert (relay.codec.usage.input, relay.codec.usage.output) == (2, 3)


CHUNKS = [
    b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}\n\n',
    b"data: [DONE]\n\n",
]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, sum(map(len, CHUNKS)) - 1), max_size=6))
def test_the_usage_chunk_we_asked_for_is_hidden_however_the_bytes_are_split(cuts: list[int]) -> None:
    whole = b"".join(CHUNKS)
    codec = HiddenUsageCodec(OpenAIUsage())
    edges = [0, *sorted(set(cuts)), len(whole)]
    out = b"".join(codec.feed(whole[a:b]) for a, b in pairwise(edges)) + codec.finish()
    assert out == CHUNKS[0] + CHUNKS[1] + CHUNKS[3]
    assert (codec.usage.input, codec.usage.output) == (7, 2)


async def test_a_chat_stream_asks_for_usage_and_hides_it_only_when_the_client_did_not() -> None:
    hidden = await call_for(b'{"messages":[],"stream":true}')
    assert json.loads(hidden.call.body)["stream_options"] == {"include_usage": True}
    assert isinstance(hidden.answer(200, "OK", {"content-type": "text/event-stream"}).codec, HiddenUsageCodec)
    asked = await call_for(b'{"messages":[],"stream":true,"stream_options":{"include_usage":true}}')
    assert not isinstance(
        asked.answer(200, "OK", {"content-type": "text/event-stream"}).codec, HiddenUsageCodec
    )
    responses = await call_for(b'{"input":"x","stream":true}', path="/v1/responses")
    assert "stream_options" not in json.loads(responses.call.body)
