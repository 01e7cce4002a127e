"""The one wiring function of a gateway process: typed config in, aiohttp application out.

Everything with a lifetime (the upstream ClientSession, the token service, credential sources) is
opened in the app's `cleanup_ctx` and closed there. Route modules expose `add_<x>_routes(app)`;
add your call in `build_app` before `add_fallback_route`, which matches every path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from dsl.model import RouterConfig, UpstreamProvider
from gateway.accounts.build import build_account_pool
from gateway.accounts.redis_sync import shared_pool_ctx
from gateway.admin_grpc.server import admin_grpc_ctx
from gateway.context import GATEWAY, GatewayContext
from gateway.credentials.build import expand_home
from gateway.credentials.secrets import resolve_secret
from gateway.exchange.interface import Surface
from gateway.exchange.pipeline import EXCHANGE, Exchange, ExchangeSlot
from gateway.exchange.wiring import build_exchange
from gateway.http.accounts_routes import add_accounts_routes
from gateway.http.health import add_health_routes
from gateway.http.middleware import error_middleware
from gateway.http.reload_routes import add_reload_routes
from gateway.http.token_routes import add_token_routes
from gateway.openai.bridge import OpenAIApi, openai_body
from gateway.openai.models import provider_models_list
from gateway.openai.routes import OPENAI, add_openai_routes
from gateway.providers.active import ActiveProvider
from gateway.providers.forward import ProviderSurface
from gateway.providers.lookup import current_provider
from gateway.providers.routes import add_provider_routes
from gateway.proxy.routes import add_anthropic_routes, add_fallback_route
from gateway.reload.reloader import RELOADER, add_reloader
from gateway.telemetry.setup import setup_telemetry
from gateway.tokens.service import build_token_service

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """The effective configuration cannot start a gateway (message is safe to print)."""


def resolve_data_dir(config: RouterConfig, environ: Mapping[str, str]) -> Path:
    """The seed's default: config/`DATA_DIR`, else `$HOME/.link-assistant-router`."""
    if config.storage.data_dir:
        return expand_home(config.storage.data_dir, environ)
    if environ.get("DATA_DIR"):
        return expand_home(environ["DATA_DIR"], environ)
    home = environ.get("HOME")
    if home:
        return Path(home) / ".link-assistant-router"
    return Path("/var/lib/link-assistant-router/.link-assistant-router")


def build_context(config: RouterConfig, environ: Mapping[str, str]) -> GatewayContext:
    secret = resolve_secret(config.admin.token_secret, environ)
    if not secret:
        raise ConfigurationError(
            f"TOKEN_SECRET is required ({config.admin.token_secret.describe()} is unset or empty)"
        )
    return GatewayContext(
        config=config, environ=dict(environ), data_dir=resolve_data_dir(config, environ), token_secret=secret
    )


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    ctx = app[GATEWAY]
    # One shared session; bodies pass through raw (no decompression), so bytes stay identical. We
    # never ask for compression: the upstream answers in plain bytes the usage sniffer can read.
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    ctx.http = aiohttp.ClientSession(
        connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding")
    )
    try:
        yield
    finally:
        await ctx.http.close()
        ctx.http = None


async def _token_service(app: web.Application) -> AsyncIterator[None]:
    ctx = app[GATEWAY]
    if ctx.tokens is None:
        ctx.data_dir.mkdir(parents=True, exist_ok=True)
        ctx.tokens = build_token_service(ctx.config, ctx.token_secret, ctx.data_dir, ctx.environ)
    try:
        yield
    finally:
        if ctx.tokens is not None:
            await ctx.tokens.close()


async def _account_pool(app: web.Application) -> AsyncIterator[None]:
    ctx = app[GATEWAY]
    if ctx.pool is None:
        ctx.pool = build_account_pool(ctx.config, ctx.environ, ctx.data_dir, ctx.session)
    yield


async def _exchange(app: web.Application) -> AsyncIterator[None]:
    ctx = app[GATEWAY]
    tokens = ctx.token_authority()

    def build(config: RouterConfig) -> Exchange:
        return build_exchange(
            config, tokens, ctx.account_pool(), ctx.session, ctx.environ, ctx.data_dir, ctx.inflight
        )

    slot = ExchangeSlot(build(ctx.config))
    app[EXCHANGE] = slot
    app[RELOADER].on_applied.append(lambda config: setattr(slot, "current", build(config)))
    yield


def add_provider_door(app: web.Application) -> None:
    """The OpenAI routes' door to an OpenAI-compatible provider (`UPSTREAM_PROVIDER=openai-compatible`)."""
    doors = app.get(OPENAI)
    if doors is None:
        return
    ctx = app[GATEWAY]

    async def lookup() -> ActiveProvider:
        return await current_provider(ctx)

    async def listing(created: int) -> dict[str, Any]:
        provider = await lookup()
        return provider_models_list(provider.name, provider.models, provider.default_model, created)

    def door(api: OpenAIApi) -> Surface:
        return ProviderSurface(api.value, partial(openai_body, api), lookup)

    doors.doors[UpstreamProvider.OPENAI_COMPATIBLE] = door
    doors.listings[UpstreamProvider.OPENAI_COMPATIBLE] = listing


async def _end_streams(app: web.Application) -> None:
    """Shutdown, after the listeners stopped: let relayed streams finish, then end the rest cleanly."""
    ctx = app[GATEWAY]
    cut = await ctx.inflight.drain(ctx.shutdown_grace)
    if cut:
        log.warning("shutdown: ended %d stream(s) still open after %.0fs", cut, ctx.shutdown_grace)


def build_app(
    config: RouterConfig,
    environ: Mapping[str, str] | None = None,
    reload_from: tuple[Callable[[], RouterConfig], Path | None] | None = None,
) -> web.Application:
    """`reload_from`: how to load the effective config again and which file to watch (serve passes
    both; without it, a reload request reports that there is nothing to reload)."""
    env = os.environ if environ is None else environ
    ctx = build_context(config, env)
    app = web.Application(middlewares=[error_middleware], client_max_size=config.server.max_body_bytes)
    app[GATEWAY] = ctx
    app.on_shutdown.append(_end_streams)
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(_token_service)
    app.cleanup_ctx.append(_account_pool)
    app.cleanup_ctx.append(_exchange)
    app.cleanup_ctx.append(shared_pool_ctx)
    app.cleanup_ctx.append(admin_grpc_ctx)
    setup_telemetry(app)
    add_reloader(app, *(reload_from or (None, None)))
    add_health_routes(app)
    add_accounts_routes(app)
    add_anthropic_routes(app)
    add_token_routes(app)
    add_openai_routes(app)
    add_provider_door(app)
    add_provider_routes(app)
    add_reload_routes(app)
    add_fallback_route(app)
    return app
