"""An OpenAI route forwarded as OpenAI: the exchange surface for backends that speak OpenAI's format.

The client's Chat Completions or Responses body is parsed (an OpenAI-shaped 400 if it is not a
JSON object), gets the backend's default model when it names none (and the seed's `?stream=true`
on chat), and is serialised once: those exact bytes are the upstream call, which signed backends
(Gonka) sign. The answer is relayed byte for byte with its usage read on the way; an error answer
is read whole and becomes an OpenAI-shaped error. A chat stream always asks for usage (else a key
could stream free of its token budget); when the client did not ask, that chunk is left out. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence

from gateway.errors import GatewayError
from gateway.exchange.headers import client_response_headers, is_event_stream
from gateway.exchange.interface import Incoming, RawTarget, Relay, Reply, UpstreamRequest, Usage, Whole
from gateway.exchange.passthrough import PassThroughCodec
from gateway.openai.bridge import OpenAIApi, openai_body
from gateway.providers.forward import error_from_body
from gateway.providers.usage import OpenAIUsageSniffer
from gateway.tokens.records import TokenRecord

CHAT_PATH = OpenAIApi.CHAT.value


class OpenAIUsage(OpenAIUsageSniffer):
    """The OpenAI usage sniffer as the exchange's `Sniffer` (counts as a `Usage`)."""

    @property
    def usage(self) -> Usage:
        return Usage(input=self.input_tokens, output=self.output_tokens)


class OpenAIStreamCodec(PassThroughCodec):
    """Pass-through; a broken event stream ends with OpenAI's in-band error chunk."""

    def fail(self, error: GatewayError) -> bytes | None:
        frame = super().fail(error)
        if frame is None:
            return None
        data = json.dumps(error.openai_body())
        return (b"" if frame.startswith(b"event:") else b"\n\n") + f"data: {data}\n\n".encode()


class HiddenUsageCodec(OpenAIStreamCodec):
    """A chat stream whose usage chunk we asked for, not the client: the usage is read (so the key
    is charged) and the usage-only chunk (`"choices": []`) is left out; every other frame passes
    through byte for byte, held back only until its blank line arrives."""

    def __init__(self, sniffer: OpenAIUsage) -> None:
        super().__init__(sniffer, sse=True)
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        super().feed(chunk)
        frames = (self._pending + chunk).split(b"\n\n")
        self._pending = frames.pop()
        return b"".join(frame + b"\n\n" for frame in frames if not _usage_only(frame))

    def finish(self) -> bytes:
        rest, self._pending = self._pending, b""
        return b"" if _usage_only(rest) else rest


def _usage_only(frame: bytes) -> bool:
    data = frame.strip()
    if not data.startswith(b"data:") or b'"usage"' not in data:
        return False
    try:
        doc = json.loads(data[len(b"data:") :])
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("choices") == [] and isinstance(doc.get("usage"), dict)


class OpenAIForwarded:
    """One OpenAI request on its way to an OpenAI-speaking backend."""

    def __init__(self, call: UpstreamRequest, hide_usage: bool = False) -> None:
        self.call = call
        self.hide_usage = hide_usage

    def answer(self, status: int, reason: str | None, headers: Mapping[str, str]) -> Relay | Whole:
        if status >= 400:
            retry_after = headers.get("retry-after")
            return Whole(lambda body: _refused(status, body, retry_after), limit=1024 * 1024)
        sse = is_event_stream(headers)
        codec = (
            HiddenUsageCodec(OpenAIUsage())
            if sse and self.hide_usage
            else OpenAIStreamCodec(OpenAIUsage(), sse)
        )
        return Relay(codec, status, client_response_headers(headers.items()), reason)


def _refused(status: int, body: bytes | None, retry_after: str | None) -> Reply:
    error = error_from_body(status, (body or b"").decode("utf-8", "replace").strip())
    if retry_after:
        error.headers["retry-after"] = retry_after
    raise error


Route = Callable[[str, bytes], Awaitable[tuple[RawTarget, Sequence[tuple[str, str]]]]]
"""Where the exact body bytes for a path go, and the headers that go with them (e.g. a signature)."""


class OpenAIForward:
    """The surface for one OpenAI API; `route` picks the upstream for each call (Gonka: discovery
    and signing, both per request: a signed call is sent once, never resent)."""

    def __init__(self, api: OpenAIApi, default_model: str, route: Route) -> None:
        self.path = api.value
        self.api = api
        self.default_model = default_model
        self.route = route

    async def translator(self, incoming: Incoming, record: TokenRecord) -> OpenAIForwarded:
        body = dict(openai_body(self.api, incoming))  # the seed's `?stream=true` on chat included
        if not isinstance(body.get("model"), str) or not body["model"]:
            body["model"] = self.default_model
        hide_usage = False
        if self.path == CHAT_PATH and body.get("stream") is True:
            # Chat streams carry usage only when asked; ask always, so every stream is charged.
            options = body.get("stream_options")
            options = options if isinstance(options, dict) else {}
            hide_usage = options.get("include_usage") is not True
            body["stream_options"] = {**options, "include_usage": True}
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = [("content-type", "application/json")]
        if body.get("stream") is True:
            headers.append(("accept", "text/event-stream"))
        target, signed = await self.route(self.path, data)
        call = UpstreamRequest(
            "POST", self.path, "", (*headers, *signed), data, model=str(body["model"]), target=target
        )
        return OpenAIForwarded(call, hide_usage)
