"""Routes of the Anthropic surface and the catch-all: each one call to the exchange pipeline.

`/v1/messages`, `/v1/messages/count_tokens` and `/api/latest/anthropic/*` (prefix stripped) are
explicit; the catch-all forwards anything else like the seed does, except paths of a disabled
surface, which answer 404 in that surface's own error shape. `UPSTREAM_API_FORMAT` set to Bedrock
or Vertex hides all of these (the catch-all included); set to Messages, it hides the Bedrock and
Vertex paths, which would otherwise reach the catch-all.
"""

from __future__ import annotations

from aiohttp import web

from dsl.model import ApiFormat
from gateway.context import GATEWAY
from gateway.errors import not_found
from gateway.exchange.passthrough import AnthropicSurface
from gateway.exchange.pipeline import run
from gateway.http.families import Family, family_of, format_allowed, is_enabled

ANTHROPIC = AnthropicSurface()


async def proxy_handler(request: web.Request) -> web.StreamResponse:
    return await run(request, ANTHROPIC)


async def fallback_handler(request: web.Request) -> web.StreamResponse:
    ctx = request.app[GATEWAY]
    family = family_of(request.path)
    if (
        family is not Family.ANTHROPIC
        or not is_enabled(family, ctx.config.features)
        or not format_allowed(request.path, ctx.config.upstream.api_format)
    ):
        raise not_found(f"Not found: {request.method} {request.path}")
    return await proxy_handler(request)


def add_anthropic_routes(app: web.Application) -> None:
    config = app[GATEWAY].config
    if not config.features.anthropic_api or config.upstream.api_format not in (None, ApiFormat.ANTHROPIC):
        return
    app.router.add_post("/v1/messages", proxy_handler)
    app.router.add_post("/v1/messages/count_tokens", proxy_handler)
    app.router.add_route("*", "/api/latest/anthropic{tail:(/.*)?}", proxy_handler)


def add_fallback_route(app: web.Application) -> None:
    """Must be added last: it matches every path."""
    app.router.add_route("*", "/{tail:.*}", fallback_handler)
