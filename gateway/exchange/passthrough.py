"""Pass-through: the upstream's answer reaches the client byte for byte, usage read on the way.

`PassThroughCodec` is the identity `BodyCodec`: `feed` returns the chunk itself and lets a usage
sniffer look at it. `AnthropicSurface` is the identity translator of `/v1/messages` (and every
Anthropic path the gateway forwards): the client's request goes upstream as written, the answer
comes back as the upstream wrote it, error answers included. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from gateway.accounts.affinity import session_key_of
from gateway.errors import GatewayError, sse_error_event
from gateway.exchange.headers import client_response_headers, is_event_stream
from gateway.exchange.interface import Incoming, Relay, UpstreamRequest, Usage, Whole
from gateway.exchange.sniff import UsageSniffer, sniff_model
from gateway.tokens.records import TokenRecord


class Sniffer(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    @property
    def usage(self) -> Usage: ...


class PassThroughCodec:
    """Identity codec. An event stream that breaks gets an SSE `error` event; other bodies are cut."""

    done = False

    def __init__(self, sniffer: Sniffer | None, sse: bool) -> None:
        self._sniff = sniffer.feed if sniffer is not None else None
        self._sniffer = sniffer
        self._sse = sse
        self._last = b"\n\n"

    def feed(self, chunk: bytes) -> bytes:
        if self._sniff is not None:
            self._sniff(chunk)
        self._last = chunk
        return chunk

    def finish(self) -> bytes:
        return b""

    def fail(self, error: GatewayError) -> bytes | None:
        if not self._sse:
            return None
        # Close any half-sent frame so the error event parses as its own event.
        prefix = b"" if self._last.endswith(b"\n\n") else b"\n\n"
        return prefix + sse_error_event(error.error_type, error.message)

    @property
    def usage(self) -> Usage:
        return self._sniffer.usage if self._sniffer is not None else Usage()


class AnthropicPassThrough:
    """One Anthropic request forwarded as written."""

    def __init__(self, call: UpstreamRequest) -> None:
        self.call = call

    def answer(self, status: int, reason: str | None, headers: Mapping[str, str]) -> Relay | Whole:
        codec = PassThroughCodec(UsageSniffer() if status < 300 else None, is_event_stream(headers))
        return Relay(codec, status, client_response_headers(headers.items()), reason)


class AnthropicSurface:
    """The identity surface: Messages, count_tokens, and every other Anthropic path."""

    async def translator(self, incoming: Incoming, record: TokenRecord) -> AnthropicPassThrough:
        body = incoming.body
        return AnthropicPassThrough(
            UpstreamRequest(
                method=incoming.method,
                path=incoming.path,
                query=incoming.query,
                headers=tuple(incoming.headers.items()),
                body=body,
                model=sniff_model(body) if body else None,
                session_key=session_key_of(incoming.headers, body),
                pinned_account=record.account,
            )
        )
