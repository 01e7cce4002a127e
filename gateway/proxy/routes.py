"""Routes of the Anthropic surface and the catch-all: read, authorize, forward, stream.

`/v1/messages`, `/v1/messages/count_tokens` and `/api/latest/anthropic/*` (prefix stripped) are
explicit; the catch-all forwards anything else like the seed does, except paths of a disabled
surface, which answer 404 in that surface's own error shape.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from gateway.accounts.affinity import session_key_of
from gateway.clibackend.serve import open_upstream_or_cli
from gateway.context import GATEWAY, GatewayContext
from gateway.errors import GatewayError, bad_request, not_found
from gateway.http.families import Family, family_of, is_enabled, strip_anthropic_prefix
from gateway.http.socket_identity import credential_headers
from gateway.proxy.forward import UpstreamRequest
from gateway.proxy.sniff import UsageSniffer, sniff_model
from gateway.proxy.stream import relay
from gateway.telemetry.request_info import info_of


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


def raw_upstream_path(request: web.Request) -> str:
    """The path as the client wrote it (escapes kept), legacy prefix stripped."""
    path = request.raw_path.partition("?")[0].partition("#")[0]
    if not path.startswith("/"):  # absolute-form request target (`GET http://host/path`)
        path = request.rel_url.raw_path
    return strip_anthropic_prefix(path) or "/"


async def proxy_handler(request: web.Request) -> web.StreamResponse:
    ctx = request.app[GATEWAY]
    record: Any = await ctx.token_authority().authorize(credential_headers(request, ctx.socket_key))
    body = await read_body(request)
    upstream = UpstreamRequest(
        method=request.method,
        path=raw_upstream_path(request),
        query=raw_query(request),
        headers=tuple(request.headers.items()),
        body=body,
        model=sniff_model(body) if body else None,
        session_key=session_key_of(request.headers, body),
        pinned_account=getattr(record, "account", None),
    )
    answer = await open_upstream_or_cli(ctx, upstream)  # the claude CLI's answer in cli/hybrid modes
    info = info_of(request)
    info.model, info.account = upstream.model, answer.account
    sniffer = UsageSniffer() if answer.response.status < 300 else None
    try:
        with ctx.inflight.track():
            response = await relay(
                request,
                answer.response,
                ctx.config.upstream.timeouts.idle,
                info.chunk_observer(sniffer.feed) if sniffer is not None else None,
                answer.extra_headers,
            )
    finally:
        answer.finish()
        if sniffer is not None:
            info.note_sniffed(sniffer)
            # Also when the client left mid-stream: tokens it caused upstream still count against its
            # budget, so the write is shielded from the handler's cancellation.
            await asyncio.shield(_record_usage(ctx, getattr(record, "id", None), sniffer))
    return response


async def _record_usage(ctx: GatewayContext, token_id: str | None, sniffer: UsageSniffer) -> None:
    if token_id and (sniffer.input_tokens or sniffer.output_tokens):
        await ctx.token_authority().record_usage(token_id, sniffer.input_tokens, sniffer.output_tokens)


async def fallback_handler(request: web.Request) -> web.StreamResponse:
    ctx = request.app[GATEWAY]
    family = family_of(request.path)
    if family is not Family.ANTHROPIC or not is_enabled(family, ctx.config.features):
        raise not_found(f"Not found: {request.method} {request.path}")
    return await proxy_handler(request)


def add_anthropic_routes(app: web.Application) -> None:
    if not app[GATEWAY].config.features.anthropic_api:
        return
    app.router.add_post("/v1/messages", proxy_handler)
    app.router.add_post("/v1/messages/count_tokens", proxy_handler)
    app.router.add_route("*", "/api/latest/anthropic{tail:(/.*)?}", proxy_handler)


def add_fallback_route(app: web.Application) -> None:
    """Must be added last: it matches every path."""
    app.router.add_route("*", "/{tail:.*}", fallback_handler)
