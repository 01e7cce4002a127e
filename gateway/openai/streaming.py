"""The translated stream as a `BodyCodec`: upstream Anthropic SSE bytes → state machine → OpenAI SSE.

Pure: no I/O. `feed(chunk)` decodes the chunk's events, runs them through the per-request stream
translator (Chat or Responses) and encodes what comes out; `fail(error)` is the translator's in-band
error frame (the exchange's relay writes it when the upstream breaks, stalls or shutdown cuts the
stream); `usage` is the Anthropic usage the stream reported. Never imports aiohttp.
"""

from __future__ import annotations

from typing import Protocol

from gateway.errors import GatewayError
from gateway.exchange.interface import Usage
from gateway.exchange.usage import anthropic_usage
from gateway.openai.sse import SseDecoder, SseEvent, encode_all

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


class StreamTranslator(Protocol):
    usage: dict[str, object]
    finished: bool

    def feed(self, event: SseEvent) -> list[SseEvent]: ...

    def finish(self) -> list[SseEvent]: ...

    def fail(self, error: GatewayError) -> list[SseEvent]: ...


class TranslatingCodec:
    """One translated stream: Anthropic event bytes in, the client's dialect out."""

    def __init__(self, translator: StreamTranslator) -> None:
        self._decoder = SseDecoder()
        self._translator = translator

    @property
    def done(self) -> bool:
        """The client's stream is complete; the relay need not wait for the upstream to hang up."""
        return self._translator.finished

    def feed(self, chunk: bytes) -> bytes:
        translator = self._translator
        frames: list[SseEvent] = []
        for event in self._decoder.feed(chunk):
            frames += translator.feed(event)
        return encode_all(frames) if frames else b""

    def finish(self) -> bytes:
        # After a clean end this only closes what is open (a cut stream is reported by `finish`).
        frames: list[SseEvent] = []
        for event in self._decoder.finish():
            frames += self._translator.feed(event)
        return encode_all(frames + self._translator.finish())

    def fail(self, error: GatewayError) -> bytes:
        return encode_all(self._translator.fail(error) + self._translator.finish())

    @property
    def usage(self) -> Usage:
        return anthropic_usage(self._translator.usage)
