"""`GET /v1/accounts`: the account pool as the seed shows it, plus state, cooldown reason and reset.

Thin: the pool renders its own snapshot (`gateway.accounts.view`). Unlike the seed (open to anyone)
it answers only admins: loopback clients, or a Bearer admin key when one is configured, because
account names and credential directories are operator information.
"""

from __future__ import annotations

from aiohttp import web

from gateway.accounts.build import is_single_account
from gateway.accounts.pool import POOL
from gateway.accounts.view import accounts_body
from gateway.adminauth import admin_key, check_admin
from gateway.context import GATEWAY


async def list_accounts(request: web.Request) -> web.Response:
    ctx = request.app[GATEWAY]
    check_admin(request.headers.get("authorization"), request.remote, admin_key(ctx.config, ctx.environ))
    entries = request.app[POOL].snapshot()
    return web.json_response(accounts_body(entries, is_single_account(ctx.config)))


def add_accounts_routes(app: web.Application) -> None:
    if not app[GATEWAY].config.features.metrics:
        return  # --disable-metrics hides it (seed README); the fallback answers a 404 in Anthropic shape
    app.router.add_get("/v1/accounts", list_accounts)
