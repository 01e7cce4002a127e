"""`/api/providers` CRUD (admin only), in the seed's shapes, with keys always redacted.

GET `/api/providers` → `{"data":[redacted…]}`; POST upserts (whole record, inline `api_key`
encrypted) → the redacted record; GET/DELETE `/api/providers/{name}` → the redacted record /
`{"deleted": name}`, or 404 "provider not found". Errors are Anthropic-shaped like every admin route.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from gateway.adminauth import admin_key, check_admin
from gateway.context import GATEWAY
from gateway.errors import bad_request, not_found
from gateway.exchange.pipeline import read_body
from gateway.providers.records import provider_input
from gateway.providers.store import PROVIDERS, ProviderStore


def _admin_store(request: web.Request) -> ProviderStore:
    ctx = request.app[GATEWAY]
    check_admin(request.headers.get("authorization"), request.remote, admin_key(ctx.config, ctx.environ))
    return request.app[PROVIDERS]


async def list_providers(request: web.Request) -> web.Response:
    store = _admin_store(request)
    records = await asyncio.to_thread(store.records)
    return web.json_response({"data": [r.redacted() for r in records]})


async def upsert_provider(request: web.Request) -> web.Response:
    store = _admin_store(request)
    try:
        body = json.loads(await read_body(request))
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise bad_request("the request body is not valid JSON") from None
    record = await asyncio.to_thread(store.upsert, provider_input(body))
    return web.json_response(record.redacted())


async def show_provider(request: web.Request) -> web.Response:
    store = _admin_store(request)
    record = await asyncio.to_thread(store.get, request.match_info["name"])
    if record is None:
        raise not_found("provider not found")
    return web.json_response(record.redacted())


async def delete_provider(request: web.Request) -> web.Response:
    store = _admin_store(request)
    name = request.match_info["name"]
    if not await asyncio.to_thread(store.remove, name):
        raise not_found("provider not found")
    return web.json_response({"deleted": name})


def add_provider_routes(app: web.Application) -> None:
    app.router.add_get("/api/providers", list_providers)
    app.router.add_post("/api/providers", upsert_provider)
    app.router.add_get("/api/providers/{name}", show_provider)
    app.router.add_delete("/api/providers/{name}", delete_provider)
