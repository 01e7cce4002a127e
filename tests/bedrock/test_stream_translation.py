"""Anthropic SSE → Bedrock event-stream: each event becomes one chunk, errors become exceptions."""

from __future__ import annotations

import base64
import json
from typing import Any

from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.bedrock.stream import METRICS_KEY, EventStreamTranslator
from tests.support.anthropic_wire import error_json, message_events, sse_frame


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def decoded(data: bytes) -> list[tuple[dict[str, Any], Any]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    out = []
    for message in buffer:
        payload = json.loads(message.payload)
        if message.headers[":message-type"] == "event":
            payload = json.loads(base64.b64decode(payload["bytes"]))
        out.append((dict(message.headers), payload))
    return out


def translate(frames: list[bytes], cuts: list[int] | None = None) -> bytes:
    translator = EventStreamTranslator(FakeClock(), started=100.0)
    stream = b"".join(frames)
    points = [*(cuts or []), len(stream)]
    out, start = b"", 0
    for cut in sorted(points):
        out += translator.feed(stream[start:cut])
        start = cut
    return out + translator.finish()


def test_each_event_becomes_a_chunk_and_message_stop_carries_metrics() -> None:
    frames = message_events("claude-haiku-4-5", "Hello there world", input_tokens=12, output_tokens=7)
    events = decoded(translate(frames))
    types = [payload["type"] for _, payload in events]
    assert types == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # ping is dropped: Bedrock never sends it
    for headers, _ in events:
        assert headers == {
            ":event-type": "chunk",
            ":content-type": "application/json",
            ":message-type": "event",
        }
    original = [json.loads(f.split(b"data: ", 1)[1]) for f in frames if b"event: ping" not in f]
    assert [p for _, p in events[:-1]] == original[:-1]
    stop = events[-1][1]
    assert stop["type"] == "message_stop"
    metrics = stop[METRICS_KEY]
    assert metrics["inputTokenCount"] == 12 and metrics["outputTokenCount"] == 7
    assert metrics["firstByteLatency"] == 250 and metrics["invocationLatency"] >= 500


def test_an_error_event_becomes_an_exception_and_ends_the_stream() -> None:
    frames = [
        *message_events("m", "a b")[:3],
        sse_frame("error", error_json("overloaded_error", "Overloaded")),
        sse_frame("message_stop", {"type": "message_stop"}),
    ]
    events = decoded(translate(frames))
    headers, payload = events[-1]
    assert headers[":message-type"] == "exception"
    assert headers[":exception-type"] == "serviceUnavailableException"
    assert payload == {"message": "Overloaded"}
    assert [p["type"] for h, p in events[:-1]] == ["message_start", "content_block_start"]


def test_rate_limit_error_is_throttling() -> None:
    frames = [sse_frame("error", error_json("rate_limit_error", "slow down"))]
    [(headers, payload)] = decoded(translate(frames))
    assert headers[":exception-type"] == "throttlingException" and payload == {"message": "slow down"}


def test_fail_sends_one_exception_only() -> None:
    translator = EventStreamTranslator(FakeClock(), started=100.0)
    first = translator.fail("internalServerException", "Upstream stream interrupted")
    assert translator.fail("internalServerException", "again") == b""
    assert translator.feed(sse_frame("ping", {"type": "ping"})) == b""
    [(headers, payload)] = decoded(first)
    assert headers[":exception-type"] == "internalServerException"
    assert payload == {"message": "Upstream stream interrupted"}


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=50)
@given(st.text(min_size=1, max_size=80), st.lists(st.integers(0, 4000), max_size=12))
def test_any_chunking_of_the_sse_gives_the_same_event_stream(text: str, cuts: list[int]) -> None:
    frames = message_events("claude-haiku-4-5", text)
    whole = decoded(translate(frames))
    total = len(b"".join(frames))
    split = decoded(translate(frames, [c % (total + 1) for c in cuts]))
    strip = [(h, {k: v for k, v in p.items() if k != METRICS_KEY}) for h, p in whole]
    assert [(h, {k: v for k, v in p.items() if k != METRICS_KEY}) for h, p in split] == strip
