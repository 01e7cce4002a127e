"""`GET /health` (`ok`, as the seed) and `HEAD /` (Claude Code's connectivity probe)."""

from __future__ import annotations

from aiohttp import web


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def head_root(request: web.Request) -> web.Response:
    return web.Response(status=200)


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/health", health, allow_head=True)
    app.router.add_route("HEAD", "/", head_root)
