"""`GET /health` (`ok`, as the seed), `GET /ready` (readiness, with the config-reload detail) and
`HEAD /` (Claude Code's connectivity probe).

A failed reload does not make the gateway unready (it keeps serving the last good config); `/ready`
says so in its `reload` detail, next to the metric `link_assistant_config_last_reload_failed`.
"""

from __future__ import annotations

from aiohttp import web

from gateway.reload.reloader import RELOADER


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def ready(request: web.Request) -> web.Response:
    return web.json_response({"ready": True, "reload": request.app[RELOADER].detail()})


async def head_root(request: web.Request) -> web.Response:
    return web.Response(status=200)


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/health", health, allow_head=True)
    app.router.add_get("/ready", ready, allow_head=True)
    app.router.add_route("HEAD", "/", head_root)
