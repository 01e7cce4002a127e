"""`GET /health` (liveness: `ok`, as the seed), `GET /ready` (readiness) and `HEAD /` (Claude Code's probe).

`/health` only says the process answers. `/ready` says this gateway should get traffic: it is not shutting
down, its config is loaded (the app started), its token store answers, and some account could serve a
request. A failing check answers 503 with the reasons as JSON, never a secret. The serve loop flips
`Readiness.draining` on SIGTERM so load balancers stop sending before the listener closes.

A failed config reload does not make the gateway unready (it keeps serving the last good config); `/ready`
says so in its `reload` detail, next to the metric `link_assistant_config_last_reload_failed`.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from aiohttp import web

from gateway.accounts.pool import POOL
from gateway.context import GATEWAY
from gateway.reload.reloader import RELOADER
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.service import TOKENS

STORE_PROBE_SECONDS = 2.0
# An id no token ever has: a lookup of it costs one round trip and changes nothing.
PROBE_TOKEN_ID = "readiness-probe"
CREDENTIAL_REASONS = frozenset({"auth", "credential"})


@dataclass
class Readiness:
    """Process-wide readiness switches owned by the serve loop."""

    draining: bool = False


READINESS = web.AppKey("readiness", Readiness)


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def head_root(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def _store_problem(app: web.Application) -> str | None:
    tokens = app.get(TOKENS)
    if tokens is None:
        return "the token store is not open"
    store = tokens.store
    try:
        await asyncio.wait_for(store.fetch(PROBE_TOKEN_ID), STORE_PROBE_SECONDS)
    except Exception as exc:  # any failure of the store means not ready; the reason is its type only
        return f"the token store does not answer ({type(exc).__name__})"
    if isinstance(store, FileTokenStore) and not os.access(app[GATEWAY].data_dir, os.W_OK):
        return "the data directory is not writable"
    return None


def _account_problem(app: web.Application) -> str | None:
    """Not ready when no account could ever serve, or every one lacks a working credential. Accounts
    cooling down after a rate limit or overload still count: that passes, and while it lasts the
    gateway's own 502 with retry-after tells clients more than a pod taken out of the Service."""
    pool = app.get(POOL)
    if pool is None:
        return "the account pool is not built"
    if pool.recovery_wait(None, None) is None:
        return "no account can serve a request"
    entries = pool.snapshot()
    if entries and all(e.get("cooldown_reason") in CREDENTIAL_REASONS for e in entries):
        return "no account can serve a request (no working credential)"
    return None


async def ready(request: web.Request) -> web.Response:
    problems: list[str] = []
    if request.app[READINESS].draining:
        problems.append("shutting down")
    else:
        for problem in (await _store_problem(request.app), _account_problem(request.app)):
            if problem:
                problems.append(problem)
    reload = request.app[RELOADER].detail()
    if problems:
        return web.json_response({"ready": False, "problems": problems, "reload": reload}, status=503)
    return web.json_response({"ready": True, "reload": reload})


def add_health_routes(app: web.Application) -> None:
    app[READINESS] = Readiness()
    app.router.add_get("/health", health, allow_head=True)
    app.router.add_get("/ready", ready, allow_head=True)
    app.router.add_route("HEAD", "/", head_root)
