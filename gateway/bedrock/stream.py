"""Anthropic SSE → Bedrock event-stream, as a per-request state machine. Pure; no I/O.

`feed(sse_bytes)` returns the framed event-stream bytes completed by that chunk, `finish()` what
is left at the end, `fail(...)` the exception message for a stream that broke. Each Anthropic
event becomes one `chunk` whose payload carries the event JSON in base64, byte for byte as the
upstream sent it, except `message_stop`, which gains Bedrock's `amazon-bedrock-invocationMetrics`,
and `ping`, which Bedrock never sends. An SSE `error` event becomes an exception message of the
nearest Bedrock type. Latencies are measured with the clock the caller passes in (seconds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gateway.bedrock.eventstream import ExceptionType, chunk_message, exception_message
from gateway.openai.sse import SseDecoder, SseEvent

# Anthropic `error.type` → Bedrock `:exception-type` for an error inside the stream.
EXCEPTION_OF_ERROR: dict[str, str] = {
    "rate_limit_error": ExceptionType.THROTTLING,
    "overloaded_error": ExceptionType.SERVICE_UNAVAILABLE,
    "invalid_request_error": ExceptionType.VALIDATION,
    "request_too_large": ExceptionType.VALIDATION,
    "timeout_error": ExceptionType.MODEL_TIMEOUT,
    "api_error": ExceptionType.INTERNAL,
}
METRICS_KEY = "amazon-bedrock-invocationMetrics"


class EventStreamTranslator:
    """One per streamed response."""

    def __init__(self, clock: Callable[[], float], started: float) -> None:
        self._decoder = SseDecoder()
        self._clock = clock
        self._started = started
        self._first_byte: float | None = None
        self._input_tokens = 0
        self._output_tokens = 0
        self.failed = False
        """An exception message went out: nothing may follow it."""

    def feed(self, chunk: bytes) -> bytes:
        if self._first_byte is None and chunk:
            self._first_byte = self._clock()
        return self._frames(self._decoder.feed(chunk))

    def finish(self) -> bytes:
        return self._frames(self._decoder.finish())

    def fail(self, exception_type: str, message: str) -> bytes:
        if self.failed:
            return b""
        self.failed = True
        return exception_message(exception_type, message)

    def _frames(self, events: list[SseEvent]) -> bytes:
        out = bytearray()
        for event in events:
            if self.failed:
                break
            out += self._frame(event)
        return bytes(out)

    def _frame(self, event: SseEvent) -> bytes:
        kind = event.event
        if kind == "ping":
            return b""
        if kind in ("message_start", "message_delta", "message_stop", "error") or kind is None:
            payload = _object(event.data)
            if payload is None:
                return chunk_message(event.data.encode())
            kind = kind or str(payload.get("type", ""))
            if kind == "error":
                error = _dict(payload.get("error"))
                error_type = str(error.get("type", "api_error"))
                message = str(error.get("message", "The upstream stream failed"))
                return self.fail(
                    EXCEPTION_OF_ERROR.get(error_type, ExceptionType.MODEL_STREAM_ERROR), message
                )
            if kind == "message_start":
                self._count(_dict(_dict(payload.get("message")).get("usage")))
            elif kind == "message_delta":
                self._count(_dict(payload.get("usage")))
            elif kind == "message_stop":
                return chunk_message(self._with_metrics(payload))
        return chunk_message(event.data.encode())

    def _count(self, usage: dict[str, Any]) -> None:
        # Cumulative in Anthropic's stream: the largest value seen is the total.
        self._input_tokens = max(self._input_tokens, _int(usage.get("input_tokens")))
        self._output_tokens = max(self._output_tokens, _int(usage.get("output_tokens")))

    def _with_metrics(self, payload: dict[str, Any]) -> bytes:
        now = self._clock()
        first = self._first_byte if self._first_byte is not None else now
        metrics = {
            "inputTokenCount": self._input_tokens,
            "outputTokenCount": self._output_tokens,
            "invocationLatency": max(0, round((now - self._started) * 1000)),
            "firstByteLatency": max(0, round((first - self._started) * 1000)),
        }
        return json.dumps({**payload, METRICS_KEY: metrics}, separators=(",", ":")).encode()


def _object(data: str) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
