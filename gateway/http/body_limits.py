"""Request body limits per route family, checked before a body is read.

Pure rule (`limit_for`) plus a thin middleware. The model surfaces (Anthropic, OpenAI) take up to
`server: max-body-size` (32 MiB, also aiohttp's hard cap for the whole app); the admin API takes
up to `server: admin-max-body-size` (1 MiB: a key or provider record is a few hundred bytes), and
the read-only operations routes nothing. A declared `Content-Length` over the limit is a 413 in
the route's dialect at once, without reading a byte of the body; a chunked body is still bounded
by the app-wide cap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from dsl.model import ServerConfig
from gateway.errors import GatewayError
from gateway.http.families import Family, family_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def limit_for(family: Family, server: ServerConfig) -> int:
    if family is Family.ADMIN:
        return min(server.admin_max_body_bytes, server.max_body_bytes)
    return server.max_body_bytes


def body_limit_middleware(server: ServerConfig) -> Middleware:  # aiohttp's own middleware type
    @web.middleware
    async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        declared = request.content_length
        if declared is not None:
            limit = limit_for(family_of(request.path), server)
            if declared > limit:
                raise GatewayError(
                    413, "request_too_large", f"Request body too large for this route (limit {limit} bytes)"
                )
        return await handler(request)

    return body_limit
