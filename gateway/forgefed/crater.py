"""Crater: `/v1/chat/completions` answered by a ForgeFed ticket tracker (`UPSTREAM_PROVIDER=crater`).

The flow (rules in `crater_flow`): a signed Offer{Ticket} goes to `CRATER_FORGEFED_INBOX`; the task
URI comes from the Accept, in the POST reply or, as the spec allows, delivered later to our inbox;
the task is polled (signed GET) every `CRATER_POLL_INTERVAL_MS` until `isResolved: true`, for at most
`CRATER_POLL_TIMEOUT_SECS` in all (then 504). Time comes from the federation's clock, so tests run
the waits in virtual time. The answer is chat-completion JSON, or SSE with `stream: true`; the task's
usage is charged to the caller's key like on every route.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dsl.model import RouterConfig
from gateway.context import GatewayContext
from gateway.errors import GatewayError
from gateway.forgefed import crater_flow as flow
from gateway.forgefed.federation import Federation
from gateway.forgefed.remote import RemoteAnswer, RemoteError
from gateway.forgefed.surface import FEDERATION
from gateway.telemetry.request_info import RequestInfo

ERROR_TYPE = "forgefed_task_error"
OnWait = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class CraterSettings:
    inbox: str
    target: str
    actor: str
    interval: float
    timeout: float

    @classmethod
    def of(cls, config: RouterConfig, actor_url: str) -> CraterSettings:
        crater = config.crater
        inbox = crater.inbox or ""
        return cls(
            inbox=inbox,
            target=crater.target or inbox,
            actor=crater.actor or actor_url,
            interval=max(crater.poll_interval_ms, 1) / 1000.0,
            timeout=float(crater.poll_timeout_secs),
        )


async def _nothing() -> None:
    return None


async def run_task(
    federation: Federation, settings: CraterSettings, ticket: flow.Ticket, on_wait: OnWait = _nothing
) -> dict[str, Any]:
    """Offer the ticket and wait for it to resolve; the resolved task JSON, or `TaskError`."""
    if not settings.inbox:
        raise flow.TaskError(502, "CRATER_FORGEFED_INBOX is required for crater provider")
    clock = federation.clock
    deadline = clock.monotonic() + settings.timeout
    offer_id = f"{settings.actor}/activities/offer-{uuid.uuid4()}"
    waiter = federation.expect_reply(offer_id)  # before sending: the Accept may beat the POST reply
    try:
        answer = await _call(
            federation.remote.post(
                settings.inbox, flow.offer(ticket, settings.actor, settings.target, offer_id)
            )
        )
        if answer.status >= 300:
            detail = f": {answer.text()}" if answer.text() else ""
            raise flow.TaskError(502, f"ForgeFed delivery failed with HTTP {answer.status}{detail}")
        reply = _json(answer, "ForgeFed inbox")
        while flow.reply_kind(reply) is None:  # 202: the tracker answers later, by delivery
            if waiter.done():
                reply = waiter.result()
                break
            if clock.monotonic() >= deadline:
                raise flow.TaskError(504, f"the Offer was not answered within {settings.timeout:g} seconds")
            await _wait(waiter, clock.sleep(settings.interval))
            await on_wait()
        uri = flow.task_uri(reply)
    finally:
        federation.forget(offer_id)
    while True:
        polled = await _call(federation.remote.get(uri))
        if polled.status >= 300:
            raise flow.TaskError(502, f"ForgeFed task poll failed with HTTP {polled.status}")
        task = _json(polled, "ForgeFed task")
        if flow.is_resolved(task):
            return dict(task)
        if clock.monotonic() >= deadline:
            raise flow.TaskError(504, f"task {uri} did not resolve within {settings.timeout:g} seconds")
        await clock.sleep(settings.interval)
        await on_wait()


async def _call(request: Awaitable[RemoteAnswer]) -> RemoteAnswer:
    try:
        return await request
    except RemoteError as exc:
        raise flow.TaskError(502, f"ForgeFed request failed: {exc}") from None


def _json(answer: RemoteAnswer, what: str) -> Any:
    try:
        return answer.json()
    except RemoteError:
        raise flow.TaskError(502, f"{what} answered with invalid JSON") from None


async def _wait(waiter: asyncio.Future[Any], sleep: Awaitable[None]) -> None:
    """Until the Accept arrives or one poll interval passes, whichever is first."""
    sleeper = asyncio.ensure_future(sleep)
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()


async def serve_crater(
    request: web.Request, ctx: GatewayContext, path: str, body: dict[str, Any], info: RequestInfo, record: Any
) -> web.StreamResponse:
    """The OpenAI-routes forwarder for `UPSTREAM_PROVIDER=crater`."""
    if path != "/v1/chat/completions":
        raise GatewayError(
            400, "invalid_request_error", "UPSTREAM_PROVIDER=crater serves /v1/chat/completions only"
        )
    federation = request.app[FEDERATION]
    settings = CraterSettings.of(ctx.config, federation.urls.actor)
    try:
        ticket = flow.ticket_of(body, settings.actor)
    except flow.TaskError as exc:
        raise GatewayError(exc.status, ERROR_TYPE, exc.message) from None
    info.account, info.model, info.streaming = "crater", ticket.model, body.get("stream") is True
    completion_id, created = f"chatcmpl-{uuid.uuid4()}", int(time.time())
    if not info.streaming:
        try:
            task = await run_task(federation, settings, ticket)
        except flow.TaskError as exc:
            info.note_upstream_error("crater", "timeout" if exc.status == 504 else "server_error")
            raise GatewayError(exc.status, ERROR_TYPE, exc.message) from None
        usage = flow.usage_of(task)
        await _charge(ctx, info, record, usage)
        return web.json_response(
            flow.completion(completion_id, created, ticket.model, flow.answer_text(task), usage)
        )
    return await _stream(
        request, ctx, info, record, federation, settings, ticket, body, completion_id, created
    )


async def _stream(
    request: web.Request,
    ctx: GatewayContext,
    info: RequestInfo,
    record: Any,
    federation: Federation,
    settings: CraterSettings,
    ticket: flow.Ticket,
    body: dict[str, Any],
    completion_id: str,
    created: int,
) -> web.StreamResponse:
    """SSE opened at once; `: waiting` comments keep it alive while the task runs, then the answer."""
    response = web.StreamResponse(
        headers={"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
    )
    await response.prepare(request)

    async def keepalive() -> None:
        await response.write(b": waiting\n\n")

    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    with ctx.inflight.track():
        try:
            task = await run_task(federation, settings, ticket, keepalive)
        except flow.TaskError as exc:
            info.note_upstream_error("crater", "timeout" if exc.status == 504 else "server_error")
            error = {"error": {"type": ERROR_TYPE, "message": exc.message, "code": str(exc.status)}}
            await response.write(f"data: {json.dumps(error)}\n\ndata: [DONE]\n\n".encode())
            await response.write_eof()
            return response
        usage = flow.usage_of(task)
        await _charge(ctx, info, record, usage)
        info.mark_first_token()
        frames = flow.chunks(
            completion_id, created, ticket.model, flow.answer_text(task), usage if include_usage else None
        )
        payload = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames) + "data: [DONE]\n\n"
        await response.write(payload.encode())
        await response.write_eof()
    return response


async def _charge(ctx: GatewayContext, info: RequestInfo, record: Any, usage: dict[str, int]) -> None:
    info.note_usage({"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]})
    token_id = getattr(record, "id", None)
    if token_id and usage["total_tokens"]:
        await asyncio.shield(
            ctx.token_authority().record_usage(token_id, usage["prompt_tokens"], usage["completion_tokens"])
        )
