"""Property tests: whatever a client or upstream sends, translation answers or refuses cleanly.

Requests either translate or raise an OpenAI-shaped 400 `GatewayError` (never a traceback); stream
state machines never raise on any event sequence and always end the stream exactly once.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import GatewayError
from gateway.openai.chat_request import translate_chat_request
from gateway.openai.chat_response import translate_chat_response
from gateway.openai.chat_stream import ChatStreamTranslator
from gateway.openai.models import build_alias_table
from gateway.openai.responses_request import translate_responses_request
from gateway.openai.responses_response import translate_responses_response
from gateway.openai.responses_stream import ResponsesStreamTranslator
from gateway.openai.sse import DONE, SseEvent

ALIASES = build_alias_table()
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 5000)
    | st.floats(-1, 3)
    | st.sampled_from(
        [
            "",
            "x",
            "user",
            "assistant",
            "tool",
            "system",
            "developer",
            "function",
            "text",
            "image_url",
            "auto",
            "required",
            "none",
            "low",
            "high",
            "data:image/png;base64,AAAA",
            "https://e.com/a.png",
            "{}",
            "{bad",
        ]
    )
)
keys = st.sampled_from(
    [
        "role",
        "content",
        "type",
        "text",
        "tool_calls",
        "tool_call_id",
        "id",
        "function",
        "name",
        "arguments",
        "image_url",
        "url",
        "parameters",
        "call_id",
        "output",
        "input",
        "model",
        "messages",
        "tools",
        "tool_choice",
        "stop",
        "max_tokens",
        "temperature",
        "stream",
        "n",
        "reasoning_effort",
        "instructions",
    ]
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(keys, values, max_size=8), st.booleans())
def test_chat_requests_translate_or_fail_with_a_400(body: dict[str, Any], with_model: bool) -> None:
    if with_model:
        body = {
            "model": "gpt-4o",
            "messages": body.get("messages", [{"role": "user", "content": "x"}]),
            **body,
        }
    for translate in (translate_chat_request, translate_responses_request):
        try:
            out = translate(body, ALIASES)
        except GatewayError as error:
            assert error.status == 400 and error.openai_body()["error"]["message"]
        else:
            json.dumps(out)
            assert out["messages"] and out["max_tokens"] >= 1


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keys | st.sampled_from(["stop_reason", "usage"]), values, max_size=6))
def test_upstream_messages_of_any_shape_translate(message: dict[str, Any]) -> None:
    for translate in (translate_chat_response, translate_responses_response):
        json.dumps(translate(message, 0))


event_types = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "weird",
    ]
)
events = st.builds(
    lambda t, extra: {"type": t, **extra},
    event_types,
    st.dictionaries(
        st.sampled_from(["index", "message", "content_block", "delta", "usage", "error"]), values, max_size=4
    ),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(events | st.just("not json") | st.just(DONE), max_size=12))
def test_stream_machines_never_raise_and_end_once(sequence: list[Any]) -> None:
    for translator in (ChatStreamTranslator(0, include_usage=True), ResponsesStreamTranslator(0)):
        frames: list[SseEvent] = []
        for item in sequence:
            frames += translator.feed(SseEvent(item if isinstance(item, str) else json.dumps(item)))
        frames += translator.finish()
        assert translator.finish() == []
        for frame in frames:
            if frame.data != DONE:
                json.loads(frame.data)
        if isinstance(translator, ChatStreamTranslator):
            assert [f.data for f in frames].count(DONE) == 1 and frames[-1].data == DONE
        else:
            terminal = [
                f.event
                for f in frames
                if f.event in ("response.completed", "response.incomplete", "response.failed")
            ]
            assert len(terminal) == 1
