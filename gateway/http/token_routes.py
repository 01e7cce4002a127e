"""HTTP endpoints for router keys: the seed's admin trio plus key introspection for key holders.

* `POST /api/tokens` (admin) `{ttl_hours=24, label="", account?, max_requests?, max_tokens?,
  rate_limit_per_minute?}` → `{token, ttl_hours, label, account, max_requests, id, expires_at, …}`
* `GET /api/tokens/list` (admin) → `{"data": [record, …]}`
* `POST /api/tokens/revoke` (admin) `{id}` → `{"revoked": id}`; unknown id → 404
* `POST /api/tokens/expire` (admin) `{id}` → `{"expired": id, "expires_at": N}`; unknown id → 404
* `GET /api/tokens/self` (the caller's own `la_sk_` key) → its budgets and usage; spends nothing.

Handlers are thin: parse (`gateway.tokens.params.parse_issue`, shared with gRPC and the CLI),
call the token service, render. Errors are `GatewayError`s rendered in Anthropic shape by the
error middleware.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from aiohttp import web

from gateway.adminauth import admin_key, check_admin
from gateway.context import GATEWAY
from gateway.errors import bad_request, not_found
from gateway.exchange.socket_identity import credential_headers
from gateway.telemetry.metrics import METRICS
from gateway.tokens.params import parse_issue
from gateway.tokens.records import budget_view, to_json
from gateway.tokens.service import TOKENS, TokenService


async def _json_body(request: web.Request) -> object:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep to parse
        raise bad_request("request body is not valid JSON") from None


def _require_admin(request: web.Request) -> TokenService:
    ctx = request.app[GATEWAY]
    check_admin(request.headers.get("authorization"), request.remote, admin_key(ctx.config, ctx.environ))
    return request.app[TOKENS]


async def issue_token(request: web.Request) -> web.Response:
    service = _require_admin(request)
    params = parse_issue(await _json_body(request))
    issued = await service.issue(**asdict(params))
    metrics = request.app.get(METRICS)
    if metrics is not None:
        metrics.token_issued()
    record = issued.record
    return web.json_response(
        {
            "token": issued.token,
            "ttl_hours": issued.ttl_hours,
            "label": record.label,
            "account": record.account,
            "max_requests": record.max_requests,
            "id": record.id,
            "expires_at": record.expires_at,
            "max_tokens": record.max_tokens,
            "rate_limit_per_minute": record.rate_limit_per_minute,
        }
    )


async def list_tokens(request: web.Request) -> web.Response:
    service = _require_admin(request)
    await service.refresh()
    return web.json_response({"data": [to_json(record) for record in service.list()]})


def _id_from(body: object) -> str:
    token_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(token_id, str) or not token_id:
        raise bad_request("body must be a JSON object with a non-empty string id")
    if token_id.startswith("la_sk_"):
        raise bad_request("id is the key's id (the UUID /api/tokens/list shows), not the la_sk_ key itself")
    return token_id


async def revoke_token(request: web.Request) -> web.Response:
    service = _require_admin(request)
    token_id = _id_from(await _json_body(request))
    if await service.revoke(token_id) is None:
        raise not_found("token not found")
    metrics = request.app.get(METRICS)
    if metrics is not None:
        metrics.token_revoked()
    return web.json_response({"revoked": token_id})


async def expire_token(request: web.Request) -> web.Response:
    service = _require_admin(request)
    token_id = _id_from(await _json_body(request))
    record = await service.expire(token_id)
    if record is None:
        raise not_found("token not found")
    return web.json_response({"expired": token_id, "expires_at": record.expires_at})


async def own_token(request: web.Request) -> web.Response:
    service = request.app[TOKENS]
    record = await service.introspect(credential_headers(request))
    return web.json_response(budget_view(record))


def add_token_routes(app: web.Application) -> None:
    app.router.add_post("/api/tokens", issue_token)
    app.router.add_get("/api/tokens/list", list_tokens)
    app.router.add_post("/api/tokens/revoke", revoke_token)
    app.router.add_post("/api/tokens/expire", expire_token)
    app.router.add_get("/api/tokens/self", own_token)
