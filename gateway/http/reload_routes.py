"""Admin: `POST /api/config/reload` reloads the config now (like SIGHUP) and answers what happened;
`GET /api/config/reload` says whether the last reload failed and why. Admin-only, like every /api route.

200 when the new config was applied (or nothing changed), 422 when it is invalid (each problem with
line and column), 409 when it needs a restart (nothing applied). Secrets never appear: changes are
shown as `dsl.config.view` renders them (references only).
"""

from __future__ import annotations

from aiohttp import web

from gateway.adminauth import admin_key, check_admin
from gateway.context import GATEWAY
from gateway.reload.reloader import RELOADER, Outcome

STATUS = {Outcome.APPLIED: 200, Outcome.UNCHANGED: 200, Outcome.INVALID: 422, Outcome.RESTART_REQUIRED: 409}


def _check(request: web.Request) -> None:
    ctx = request.app[GATEWAY]
    check_admin(request.headers.get("authorization"), request.remote, admin_key(ctx.config, ctx.environ))


async def reload_now(request: web.Request) -> web.Response:
    _check(request)
    result = await request.app[RELOADER].reload("admin HTTP request")
    return web.json_response(result.to_json(), status=STATUS[result.outcome])


async def reload_status(request: web.Request) -> web.Response:
    _check(request)
    return web.json_response(request.app[RELOADER].detail())


def add_reload_routes(app: web.Application) -> None:
    app.router.add_post("/api/config/reload", reload_now)
    app.router.add_get("/api/config/reload", reload_status)
