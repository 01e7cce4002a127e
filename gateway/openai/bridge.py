"""OpenAI request → Anthropic upstream → OpenAI answer: the thin I/O around the pure translators.

Sends the translated body through the proxy's forwarding loop (`open_upstream`: account choice,
credential swap, retry on the next account before the first byte), then either translates the
JSON answer or relays the SSE stream through a per-request state machine. Upstream errors become
`GatewayError`s, which the error middleware renders in OpenAI's shape on these routes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from gateway.clibackend.serve import open_upstream_or_cli
from gateway.context import GatewayContext
from gateway.errors import GatewayError, bad_gateway
from gateway.exchange.interface import UpstreamRequest, UpstreamResponse
from gateway.openai.common import input_tokens, obj, upstream_error
from gateway.openai.replay import message_events
from gateway.openai.streaming import StreamTranslator, relay_translated, respond_with_frames
from gateway.telemetry.request_info import RequestInfo

MAX_UPSTREAM_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class Translation:
    """How one OpenAI route maps onto the Messages API."""

    to_anthropic: Callable[[Any], dict[str, Any]]
    to_openai: Callable[[Mapping[str, Any], int], dict[str, Any]]
    stream_translator: Callable[[int], StreamTranslator]


async def read_upstream_json(response: UpstreamResponse) -> Any:
    try:
        raw = await response.content.read(MAX_UPSTREAM_BODY)
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
        raise bad_gateway("Upstream response was interrupted") from exc
    finally:
        response.release()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_gateway("upstream returned non-JSON") from None


async def upstream_failure(response: UpstreamResponse) -> GatewayError:
    """An Anthropic error answer as an error for the OpenAI client (status kept, retry-after too)."""
    try:
        body = await read_upstream_json(response)
        error = upstream_error(body.get("error") if isinstance(body, dict) else None)
    except GatewayError:
        error = upstream_error(None)
    error.status = response.status
    retry_after = response.headers.get("retry-after")
    if retry_after:
        error.headers["retry-after"] = retry_after
    return error


async def answer_via_anthropic(
    request: web.Request,
    ctx: GatewayContext,
    record: Any,
    body: Any,
    stream: bool,
    translation: Translation,
    info: RequestInfo,
) -> web.StreamResponse:
    anthropic_body = translation.to_anthropic(body)
    if stream:
        anthropic_body["stream"] = True
    else:
        anthropic_body.pop("stream", None)
    accept = "text/event-stream" if stream else "application/json"
    headers = [("content-type", "application/json"), ("accept", accept)]
    beta = request.headers.get("anthropic-beta")
    if beta:
        headers.append(("anthropic-beta", beta))
    upstream = UpstreamRequest(
        method="POST",
        path="/v1/messages",
        query="",
        headers=tuple(headers),
        body=json.dumps(anthropic_body, ensure_ascii=False).encode(),
        model=anthropic_body["model"],
        session_key=request.headers.get("x-claude-code-session-id"),
        pinned_account=getattr(record, "account", None),
    )
    info.model = anthropic_body["model"]
    info.streaming = stream
    answer = await open_upstream_or_cli(ctx, upstream)  # the claude CLI's answer in cli/hybrid modes
    info.account = answer.account
    try:
        return await _answer(request, ctx, record, stream, translation, info, answer.response)
    finally:
        answer.finish()  # gives the account's concurrency slot back now, not when GC finds the response


async def _answer(
    request: web.Request,
    ctx: GatewayContext,
    record: Any,
    stream: bool,
    translation: Translation,
    info: RequestInfo,
    response: UpstreamResponse,
) -> web.StreamResponse:
    if response.status >= 300:
        raise await upstream_failure(response)
    created = int(time.time())
    if stream and "text/event-stream" in response.headers.get("content-type", ""):
        translator = translation.stream_translator(created)
        idle = ctx.config.upstream.timeouts.idle
        try:
            with ctx.inflight.track():  # shutdown lets the stream finish within its grace period
                return await relay_translated(request, response, translator, idle, info)
        finally:
            # Also when the client left mid-stream: the tokens it caused upstream still count against
            # its budget, so the write is shielded from the handler's cancellation.
            info.note_usage(translator.usage)
            await asyncio.shield(record_usage(ctx, record, translator.usage))
    message = await read_upstream_json(response)
    if not isinstance(message, dict) or message.get("type") == "error":
        raise upstream_error(message.get("error") if isinstance(message, dict) else None)
    usage = obj(message.get("usage"))
    info.note_usage(usage)
    await record_usage(ctx, record, usage)
    if stream:
        # The upstream answered JSON to a stream request: replay it as the stream it would have been.
        translator = translation.stream_translator(created)
        frames = [frame for event in message_events(message) for frame in translator.feed(event)]
        return await respond_with_frames(request, frames + translator.finish(), info)
    return web.json_response(translation.to_openai(message, created), dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def record_usage(ctx: GatewayContext, record: Any, usage: Mapping[str, Any]) -> None:
    """Charge the key's token budget with what the upstream reported (cache tokens are input)."""
    token_id = getattr(record, "id", None)
    if not token_id:
        return
    inputs, _, outputs = input_tokens(usage)
    if inputs or outputs:
        await ctx.token_authority().record_usage(token_id, inputs, outputs)
