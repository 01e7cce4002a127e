"""The Bedrock surface on the exchange: InvokeModel and InvokeModelWithResponseStream. Pure.

The client's invoke body becomes a Messages request (`request.messages_request`) that goes through
the account pool like any `/v1/messages` call, so retries, failover, the identity rules, metrics
and the usage rule are the pipeline's own. The answer is Bedrock's: the Messages JSON for `invoke`
(with Bedrock's token-count headers), AWS event-stream frames for the stream (`stream.py`), and
errors as `{"message"}` with `x-amzn-ErrorType`, which the error middleware renders for the
Bedrock route family from the `GatewayError` raised here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from gateway.accounts.affinity import session_key_of
from gateway.bedrock.eventstream import ExceptionType
from gateway.bedrock.request import messages_request, parse_body, upstream_headers
from gateway.bedrock.stream import EXCEPTION_OF_ERROR, EventStreamTranslator
from gateway.errors import GatewayError, bad_gateway
from gateway.exchange.headers import is_event_stream
from gateway.exchange.interface import Incoming, Relay, Reply, UpstreamRequest, Usage, Whole
from gateway.exchange.sniff import UsageSniffer
from gateway.openai.replay import message_events
from gateway.openai.sse import encode_all
from gateway.tokens.records import TokenRecord

EVENT_STREAM = "application/vnd.amazon.eventstream"
# The stream's own content type is the frames'; the SDKs read the payload's from this header.
STREAM_HEADERS = {"content-type": EVENT_STREAM, "x-amzn-bedrock-content-type": "application/json"}
_PATH_MODEL = re.compile(r"^/model/([^/]+)/invoke(?:-with-response-stream)?$")


def path_model(path: str) -> str | None:
    """The (still escaped) model segment of `/model/{modelId}/invoke…`; None on the bare paths."""
    match = _PATH_MODEL.match(path)
    return match.group(1) if match else None


class EventStreamCodec:
    """Anthropic SSE in, Bedrock event-stream out; usage read from the SSE as on `/v1/messages`."""

    def __init__(self, clock: Callable[[], float], started: float) -> None:
        self._translator = EventStreamTranslator(clock, started)
        self._sniffer = UsageSniffer()
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        self._sniffer.feed(chunk)
        out = self._translator.feed(chunk)
        self.done = self._translator.failed
        return out

    def finish(self) -> bytes:
        return self._translator.finish()

    def fail(self, error: GatewayError) -> bytes | None:
        self.done = True
        if error.status == 504:
            exception = ExceptionType.MODEL_TIMEOUT
        else:
            exception = EXCEPTION_OF_ERROR.get(error.error_type, ExceptionType.INTERNAL)
        return self._translator.fail(exception, error.message)

    @property
    def usage(self) -> Usage:
        return self._sniffer.usage


class BedrockTranslator:
    def __init__(self, call: UpstreamRequest, stream: bool, clock: Callable[[], float]) -> None:
        self.call = call
        self._stream = stream
        self._clock = clock
        self._started = clock()

    def answer(self, status: int, reason: str | None, headers: Mapping[str, str]) -> Relay | Whole:
        # Bedrock names its request id `x-amzn-requestid`; pass the upstream's on under that name.
        request_id = {"x-amzn-requestid": headers["request-id"]} if headers.get("request-id") else {}
        if status >= 300:
            return Whole(lambda body: _raise_bedrock_error(status, headers, body))
        if self._stream and is_event_stream(headers):
            codec = EventStreamCodec(self._clock, self._started)
            return Relay(codec, 200, {**STREAM_HEADERS, **request_id}, reason)
        if self._stream:
            return Whole(self._replayed_stream)  # the upstream answered JSON to a stream request
        return Whole(lambda body: self._invoke_reply(body, request_id))

    def _invoke_reply(self, body: bytes | None, request_id: Mapping[str, str]) -> Reply:
        if body is None:
            raise bad_gateway("Upstream response was interrupted")
        usage = _usage(body)
        latency = max(0, round((self._clock() - self._started) * 1000))
        headers = {
            "content-type": "application/json",
            **request_id,
            "x-amzn-bedrock-input-token-count": str(usage.input),
            "x-amzn-bedrock-output-token-count": str(usage.output),
            "x-amzn-bedrock-invocation-latency": str(latency),
        }
        return Reply(200, headers, body, usage)

    def _replayed_stream(self, body: bytes | None) -> Reply:
        if body is None:
            raise bad_gateway("Upstream response was interrupted")
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            raise bad_gateway("upstream returned non-JSON") from None
        if not isinstance(message, dict):
            raise bad_gateway("upstream returned non-JSON")
        translator = EventStreamTranslator(self._clock, self._started)
        sse = encode_all(message_events(message))
        frames = translator.feed(sse) + translator.finish()
        return Reply(200, STREAM_HEADERS, frames, _usage(body))


def _usage(body: bytes) -> Usage:
    sniffer = UsageSniffer()
    sniffer.feed(body)
    return sniffer.usage


def _raise_bedrock_error(status: int, headers: Mapping[str, str], body: bytes | None) -> Reply:
    """An upstream error answer as the Bedrock client's error (status kept; 529 is Bedrock's 503)."""
    error_type, message = "api_error", "Upstream request failed"
    try:
        payload = json.loads(body or b"")
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            error_type = str(error.get("type") or error_type)
            message = str(error.get("message") or message)
    except (ValueError, RecursionError):
        pass
    failure = GatewayError(503 if status == 529 else status, error_type, message)
    if headers.get("retry-after"):
        failure.headers["retry-after"] = headers["retry-after"]
    raise failure


class BedrockSurface:
    """`stream` is fixed by the route (`invoke` or `invoke-with-response-stream`)."""

    def __init__(self, stream: bool, clock: Callable[[], float]) -> None:
        self._stream = stream
        self._clock = clock

    async def translator(self, incoming: Incoming, record: TokenRecord) -> BedrockTranslator:
        request = messages_request(parse_body(incoming.body), path_model(incoming.path), self._stream)
        body = request.encoded()
        call = UpstreamRequest(
            method="POST",
            path="/v1/messages",
            query="",
            headers=upstream_headers(incoming.headers.items(), request.betas, self._stream),
            body=body,
            model=request.model,
            session_key=session_key_of(incoming.headers, body),
            pinned_account=record.account,
        )
        return BedrockTranslator(call, self._stream, self._clock)
