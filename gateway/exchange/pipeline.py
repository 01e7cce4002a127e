"""The exchange pipeline: authorize → read → translate → backend (admit, retries) → relay → settle.

`run(request, surface)` is the whole life of a proxied request; route handlers are one call to it.
The pipeline holds the request's telemetry record and notes on it what happened (model, account,
failed attempts, first token, usage): lower layers return verdicts, they do not write telemetry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from gateway.errors import BudgetExceeded, GatewayError, bad_request
from gateway.exchange.inflight import InFlight
from gateway.exchange.interface import (
    NO_USAGE,
    Backend,
    Incoming,
    Relay,
    Reply,
    Surface,
    UpstreamResponse,
    Usage,
    Whole,
)
from gateway.exchange.relay import relay
from gateway.exchange.sniff import sniff_max_tokens
from gateway.pathguard import PathRefused, check_upstream_path
from gateway.telemetry.request_info import RequestInfo, info_of
from gateway.tokens.records import TokenRecord


async def read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise GatewayError(413, "request_too_large", "Request body too large") from None
    except (ConnectionError, ValueError) as exc:
        raise bad_request(f"Failed to read request body: {type(exc).__name__}") from exc


def raw_query(request: web.Request) -> str:
    """The query exactly as the client wrote it (`?beta=true`, percent-escapes untouched)."""
    _, _, query = request.raw_path.partition("?")
    return query


def strip_anthropic_prefix(path: str) -> str:
    """The seed's legacy prefix: `/api/latest/anthropic/v1/messages` is forwarded as `/v1/messages`."""
    prefix = "/api/latest/anthropic"
    if path == prefix or path.startswith(prefix + "/"):
        return path[len(prefix) :]
    return path


def raw_upstream_path(request: web.Request) -> str:
    """The path as the client wrote it (escapes kept), legacy prefix stripped."""
    path = request.raw_path.partition("?")[0].partition("#")[0]
    if not path.startswith("/"):  # absolute-form request target (`GET http://host/path`)
        path = request.rel_url.raw_path
    try:  # never forward a path that could leave the proxied API upstream
        return check_upstream_path(strip_anthropic_prefix(path) or "/")
    except PathRefused as exc:
        raise bad_request(f"Invalid path: {exc}") from None


class Authority(Protocol):
    """What the pipeline needs from the token service (`gateway.tokens.service.TokenService`)."""

    async def authorize(self, headers: Mapping[str, str], reserve_tokens: int = 0) -> TokenRecord: ...

    def check_key(self, headers: Mapping[str, str]) -> None: ...

    def release(self, record: TokenRecord, reserve_tokens: int) -> None: ...

    async def record_usage(self, token_id: str, input_tokens: int, output_tokens: int) -> None: ...


@dataclass(frozen=True)
class Exchange:
    """The pipeline's collaborators, built once per app by the wiring function."""

    tokens: Authority
    accounts: Backend
    """The account-pool backend chosen by `routing.mode`: direct, cli or hybrid."""
    raw: Backend
    """For calls with a `RawTarget`."""
    inflight: InFlight
    idle_timeout: float


@dataclass
class ExchangeSlot:
    """The app's current Exchange. A config reload puts a new one here; a request reads it once, so
    requests and streams already running finish with the one they started with."""

    current: Exchange


EXCHANGE = web.AppKey("exchange", ExchangeSlot)


ErrorShape = Callable[[GatewayError], web.StreamResponse]
"""Renders an error before any byte was sent, for a surface whose clients expect neither the
Anthropic nor the OpenAI error body (the error middleware renders those by path)."""


async def run(
    request: web.Request,
    surface: Surface,
    backend: Backend | None = None,
    error_shape: ErrorShape | None = None,
) -> web.StreamResponse:
    """Serve one client request through `surface`; `backend` overrides the one the call would get;
    `error_shape` renders a `GatewayError` raised on the way in the surface's own shape."""
    try:
        exchange = request.app[EXCHANGE].current
        info = info_of(request)
        exchange.tokens.check_key(request.headers)  # a bad key is a 401 before its body is read
        body = await read_body(request)
        reserve = sniff_max_tokens(body) if body else 0  # what a token budget holds while it runs
        try:
            record = await exchange.tokens.authorize(request.headers, reserve)
        except BudgetExceeded as exc:
            info.rejection = exc.reason  # the budget-rejection metric and access log
            raise
        try:
            path, query = raw_upstream_path(request), raw_query(request)
            incoming = Incoming(request.method, path, query, request.headers, body)
            translator = await surface.translator(incoming, record)
            call = translator.call
            info.model = call.model
            if backend is None:
                backend = exchange.accounts if call.target is None else exchange.raw
            answer = await backend.open(call, info)
            info.account = answer.account
            upstream = answer.response
            usage = NO_USAGE
            try:
                plan = translator.answer(upstream.status, upstream.reason, upstream.headers)
                if isinstance(plan, Whole):
                    reply = plan.convert(await _read_whole(upstream, plan.limit))
                    if reply.usage:
                        # nothing sent yet: no shield
                        await settle(exchange.tokens, record, reply.usage, info)
                    return _respond(reply, info)
                if answer.extra_headers:
                    headers = CIMultiDict(plan.headers)
                    headers.update(answer.extra_headers)
                    plan = Relay(plan.codec, plan.status, headers, plan.reason)
                try:
                    with exchange.inflight.track():  # shutdown lets the stream finish within its grace period
                        return await relay(request, upstream, plan, exchange.idle_timeout, info)
                finally:
                    usage = plan.codec.usage
            finally:
                # gives the account's concurrency slot back now, not when GC finds the response
                answer.finish()
                if usage:
                    # Also when the client left mid-stream: tokens it caused upstream still count against its
                    # budget, so the write is shielded from the handler's cancellation.
                    await asyncio.shield(settle(exchange.tokens, record, usage, info))
        finally:  # answered, failed or cut, its usage counted: give back what admission held
            exchange.tokens.release(record, reserve)
    except GatewayError as exc:
        if error_shape is None:
            raise  # the error middleware renders it in the route's dialect
        return error_shape(exc)


async def settle(tokens: Authority, record: TokenRecord, usage: Usage, info: RequestInfo) -> None:
    """The one settlement: note the usage on the request's record and charge the key by the usage rule."""
    info.note_counts(usage.input, usage.output, usage.cache_read, usage.cache_write)
    if record.id and (usage.budget_input or usage.output):
        await tokens.record_usage(record.id, usage.budget_input, usage.output)


async def _read_whole(upstream: UpstreamResponse, limit: int) -> bytes | None:
    try:
        return await upstream.content.read(limit)
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
        return None
    finally:
        upstream.release()


def _respond(reply: Reply, info: RequestInfo) -> web.Response:
    if reply.body and reply.headers.get("content-type", "").startswith("text/event-stream"):
        info.mark_first_token()  # a stream answered whole (the upstream sent JSON to a stream request)
    return web.Response(status=reply.status, headers=reply.headers, body=reply.body)
