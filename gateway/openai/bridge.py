"""OpenAI request → Anthropic Messages call → OpenAI answer: the translators the exchange runs.

`OpenAISurface(api, aliases)` parses a Chat Completions or Responses body into an
`OpenAITranslator`, whose `call` is the Messages request for the account-pool backends and whose
`answer` picks how the upstream's answer comes back: an event stream through the stream
translator (`TranslatingCodec`), a JSON body translated whole (or replayed as a stream when the
upstream answered a stream request with JSON), an error as a `GatewayError` the error middleware
renders in OpenAI's shape. Pure: no I/O here; the exchange pipeline does it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from gateway.errors import GatewayError, bad_gateway, bad_request
from gateway.exchange.interface import Incoming, Relay, Reply, UpstreamRequest, Whole
from gateway.exchange.usage import anthropic_usage
from gateway.openai import models, structured
from gateway.openai.chat_request import translate_chat_request
from gateway.openai.chat_response import translate_chat_response
from gateway.openai.chat_stream import ChatStreamTranslator
from gateway.openai.common import obj, upstream_error
from gateway.openai.replay import message_events
from gateway.openai.responses_request import translate_responses_request
from gateway.openai.responses_response import translate_responses_response
from gateway.openai.responses_stream import ResponsesStreamTranslator
from gateway.openai.sse import encode_all
from gateway.openai.streaming import SSE_HEADERS, StreamTranslator, TranslatingCodec
from gateway.tokens.records import TokenRecord

JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


class OpenAIApi(StrEnum):
    CHAT = "/v1/chat/completions"
    RESPONSES = "/v1/responses"


@dataclass(frozen=True)
class Translation:
    """How one OpenAI route maps onto the Messages API."""

    to_anthropic: Callable[[Any], dict[str, Any]]
    to_openai: Callable[[Mapping[str, Any], int], dict[str, Any]]
    stream_translator: Callable[[int], StreamTranslator]


def json_object(raw: bytes) -> dict[str, Any]:
    """The client's body as a JSON object, else a 400 in the route's own error shape."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise bad_request("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def openai_body(api: OpenAIApi, incoming: Incoming) -> dict[str, Any]:
    """The parsed body; on chat completions the seed's `?stream=true` turns streaming on."""
    body = json_object(incoming.body)
    if api is OpenAIApi.CHAT and incoming.query:
        flag = parse_qs(incoming.query).get("stream")
        if flag and flag[0] in ("true", "1"):
            body = {**body, "stream": True}
    return body


def chat_translation(aliases: models.AliasTable, body: dict[str, Any]) -> Translation:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    json_mode = structured.json_mode(body, responses=False)
    return Translation(
        to_anthropic=lambda b: translate_chat_request(b, aliases),
        to_openai=lambda message, created: translate_chat_response(message, created, json_mode),
        stream_translator=lambda created: ChatStreamTranslator(
            created, include_usage=include_usage, json_mode=json_mode
        ),
    )


def responses_translation(aliases: models.AliasTable, body: dict[str, Any]) -> Translation:
    return Translation(
        to_anthropic=lambda b: translate_responses_request(b, aliases),
        to_openai=lambda message, created: translate_responses_response(message, created, body),
        stream_translator=lambda created: ResponsesStreamTranslator(created, echo=body),
    )


TRANSLATIONS = {OpenAIApi.CHAT: chat_translation, OpenAIApi.RESPONSES: responses_translation}


class OpenAISurface:
    """Chat Completions or Responses, translated to the Messages API."""

    def __init__(self, api: OpenAIApi, aliases: models.AliasTable) -> None:
        self.api = api
        self.aliases = aliases

    async def translator(self, incoming: Incoming, record: TokenRecord) -> OpenAITranslator:
        body = openai_body(self.api, incoming)
        translation = TRANSLATIONS[self.api](self.aliases, body)
        stream = body.get("stream") is True
        anthropic_body = translation.to_anthropic(body)
        if stream:
            anthropic_body["stream"] = True
        else:
            anthropic_body.pop("stream", None)
        accept = "text/event-stream" if stream else "application/json"
        headers = [("content-type", "application/json"), ("accept", accept)]
        beta = incoming.headers.get("anthropic-beta")
        if beta:
            headers.append(("anthropic-beta", beta))
        call = UpstreamRequest(
            method="POST",
            path="/v1/messages",
            query="",
            headers=tuple(headers),
            body=json.dumps(anthropic_body, ensure_ascii=False).encode(),
            model=anthropic_body["model"],
            session_key=incoming.headers.get("x-claude-code-session-id"),
            pinned_account=record.account,
        )
        return OpenAITranslator(call, stream, translation)


class OpenAITranslator:
    def __init__(self, call: UpstreamRequest, stream: bool, translation: Translation) -> None:
        self.call = call
        self.stream = stream
        self.translation = translation

    def answer(self, status: int, reason: str | None, headers: Mapping[str, str]) -> Relay | Whole:
        if status >= 300:
            return Whole(lambda body: _raise(upstream_failure(status, headers, body)))
        created = int(time.time())
        if self.stream and "text/event-stream" in headers.get("content-type", ""):
            return Relay(TranslatingCodec(self.translation.stream_translator(created)), 200, SSE_HEADERS)
        return Whole(lambda body: self._whole(body, created))

    def _whole(self, body: bytes | None, created: int) -> Reply:
        message = upstream_json(body)
        if not isinstance(message, dict) or message.get("type") == "error":
            raise upstream_error(message.get("error") if isinstance(message, dict) else None)
        usage = anthropic_usage(obj(message.get("usage")))
        if self.stream:
            # The upstream answered JSON to a stream request: replay it as the stream it would have been.
            translator = self.translation.stream_translator(created)
            frames = [frame for event in message_events(message) for frame in translator.feed(event)]
            return Reply(200, SSE_HEADERS, encode_all(frames + translator.finish()), usage)
        answer = self.translation.to_openai(message, created)
        return Reply(200, JSON_HEADERS, json.dumps(answer, ensure_ascii=False).encode(), usage)


def upstream_json(body: bytes | None) -> Any:
    if body is None:
        raise bad_gateway("Upstream response was interrupted")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise bad_gateway("upstream returned non-JSON") from None


def upstream_failure(status: int, headers: Mapping[str, str], body: bytes | None) -> GatewayError:
    """An Anthropic error answer as an error for the OpenAI client (status kept, retry-after too)."""
    try:
        parsed = upstream_json(body)
        error = upstream_error(parsed.get("error") if isinstance(parsed, dict) else None)
    except GatewayError:
        error = upstream_error(None)
    error.status = status
    retry_after = headers.get("retry-after")
    if retry_after:
        error.headers["retry-after"] = retry_after
    return error


def _raise(error: GatewayError) -> Reply:
    raise error
