"""The one wiring function of a gateway process: typed config (and a clock) in, aiohttp application out.

Everything with a lifetime is made in its own `cleanup_ctx`, stored under its own typed key and
closed there: the upstream ClientSession (`HTTP_SESSION`), the token service (`TOKENS`), the account
pool (`POOL`), the provider store (`PROVIDERS`), the metrics (`METRICS`), the exchange with its
backend picked once by `routing.mode` (`EXCHANGE`), and the admin gRPC server. Route modules expose
`add_<x>_routes(app)`; add your call in `build_app` before `add_fallback_route`, which matches
every path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from dsl.model import RouterConfig, UpstreamProvider
from gateway import startup
from gateway.accounts.build import build_account_pool
from gateway.accounts.pool import POOL
from gateway.accounts.redis_sync import RedisPoolSync
from gateway.accounts.state import Clock
from gateway.admin_grpc.server import admin_grpc_ctx
from gateway.adminauth import unreadable_admin_key
from gateway.bedrock.routes import add_bedrock_routes
from gateway.context import GATEWAY, HTTP_SESSION, GatewayContext
from gateway.credentials.build import expand_home
from gateway.credentials.secrets import resolve_secret
from gateway.exchange.inflight import InFlight
from gateway.exchange.interface import Surface
from gateway.exchange.pipeline import EXCHANGE, Exchange, ExchangeSlot
from gateway.exchange.wiring import build_exchange
from gateway.forgefed.crater import CraterSurface, crater_parts
from gateway.forgefed.surface import add_activitypub_routes
from gateway.gonka.forward import add_gonka_door
from gateway.http.accounts_routes import add_accounts_routes
from gateway.http.anthropic_routes import add_anthropic_routes, add_fallback_route
from gateway.http.body_limits import body_limit_middleware
from gateway.http.health import add_health_routes
from gateway.http.middleware import error_middleware
from gateway.http.observability import setup_telemetry
from gateway.http.openapi import add_openapi_route
from gateway.http.reload_routes import add_reload_routes
from gateway.http.token_routes import add_token_routes
from gateway.mpp.gate import add_mpp_gate
from gateway.openai.bridge import OpenAIApi, openai_body
from gateway.openai.models import model_entry, provider_models_list
from gateway.openai.routes import OPENAI, add_openai_routes
from gateway.providers.active import ActiveProvider
from gateway.providers.forward import ProviderSurface
from gateway.providers.lookup import current_provider
from gateway.providers.routes import add_provider_routes
from gateway.providers.store import PROVIDERS, ProviderStore
from gateway.reload.reloader import RELOADER, add_reloader
from gateway.tlsfiles import RELOADERS
from gateway.tokens.service import TOKENS, build_token_service
from gateway.vertex.routes import add_vertex_routes

log = logging.getLogger(__name__)

Lifetime = Callable[[web.Application], AsyncIterator[None]]


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
    problem = unreadable_admin_key(config, environ)
    if problem is not None:  # never fall back to open loopback admin
        raise ConfigurationError(
            f"{problem}; restore it, or remove the admin key setting for loopback-only admin"
        )
    refused = [n.message for n in startup.errors(config, environ, secret)]
    if refused:
        raise ConfigurationError("; ".join(refused))
    return GatewayContext(
        config=config, environ=dict(environ), data_dir=resolve_data_dir(config, environ), token_secret=secret
    )


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    # One shared session; bodies pass through raw (no decompression), so bytes stay identical. We
    # never ask for compression: the upstream answers in plain bytes the usage sniffer can read.
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    session = aiohttp.ClientSession(
        connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding")
    )
    app[HTTP_SESSION] = session
    try:
        yield
    finally:
        await session.close()


async def _token_service(app: web.Application) -> AsyncIterator[None]:
    ctx = app[GATEWAY]
    ctx.data_dir.mkdir(parents=True, exist_ok=True)
    tokens = build_token_service(ctx.config, ctx.token_secret, ctx.data_dir, ctx.environ)
    app[TOKENS] = tokens
    try:
        yield
    finally:
        await tokens.close()


def _account_pool(clock: Clock | None) -> Lifetime:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        ctx = app[GATEWAY]
        session = lambda: app[HTTP_SESSION]  # noqa: E731  (read when a refresh needs it)
        app[POOL] = build_account_pool(ctx.config, ctx.environ, ctx.data_dir, session, clock)
        yield

    return lifetime


async def _shared_pool(app: web.Application) -> AsyncIterator[None]:
    """Share the pool's cooldowns through Redis when `redis.url` is configured."""
    ctx = app[GATEWAY]
    url = resolve_secret(ctx.config.redis.url, ctx.environ)
    if not url:
        yield
        return
    sync = RedisPoolSync(app[POOL], url, ctx.config.redis.key_prefix)
    await sync.open()
    try:
        yield
    finally:
        await sync.close()


async def _providers(app: web.Application) -> AsyncIterator[None]:
    ctx = app[GATEWAY]
    app[PROVIDERS] = ProviderStore(ctx.data_dir, ctx.token_secret)
    yield


def _exchange(inflight: InFlight) -> Lifetime:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        ctx = app[GATEWAY]

        def build(config: RouterConfig) -> Exchange:
            session = lambda: app[HTTP_SESSION]  # noqa: E731
            return build_exchange(
                config, app[TOKENS], app[POOL], session, ctx.environ, ctx.data_dir, inflight
            )

        # A reload refills the slot; a request reads it once, so running ones keep their exchange.
        slot = ExchangeSlot(build(ctx.config))
        app[EXCHANGE] = slot
        app[RELOADER].on_applied.append(lambda config: setattr(slot, "current", build(config)))
        yield

    return lifetime


def add_provider_door(app: web.Application) -> None:
    """The OpenAI routes' door to an OpenAI-compatible provider (`UPSTREAM_PROVIDER=openai-compatible`)."""
    doors = app.get(OPENAI)
    if doors is None:
        return
    ctx = app[GATEWAY]

    async def lookup() -> ActiveProvider:
        return await current_provider(ctx, app[PROVIDERS])

    async def listing(created: int) -> dict[str, Any]:
        provider = await lookup()
        return provider_models_list(provider.name, provider.models, provider.default_model, created)

    def door(api: OpenAIApi) -> Surface:
        return ProviderSurface(api.value, partial(openai_body, api), lookup)

    doors.doors[UpstreamProvider.OPENAI_COMPATIBLE] = door
    doors.listings[UpstreamProvider.OPENAI_COMPATIBLE] = listing


def add_crater_door(app: web.Application) -> None:
    """The OpenAI routes' door to a ForgeFed tracker (`UPSTREAM_PROVIDER=crater`), with its own backend."""
    doors = app.get(OPENAI)
    parts = crater_parts(app) if doors is not None else None
    if doors is None or parts is None:
        return
    settings, backend = parts

    async def listing(created: int) -> dict[str, Any]:
        return {"object": "list", "data": [model_entry("crater-forgefed", "crater", None)]}

    def door(api: OpenAIApi) -> Surface:
        return CraterSurface(api.value, partial(openai_body, api), settings)

    doors.doors[UpstreamProvider.CRATER] = door
    doors.listings[UpstreamProvider.CRATER] = listing
    doors.backends[UpstreamProvider.CRATER] = backend


def _end_streams(inflight: InFlight) -> Callable[[web.Application], Awaitable[None]]:
    async def end_streams(app: web.Application) -> None:
        """Shutdown, after the listeners stopped: let relayed streams finish, then end the rest cleanly."""
        grace = app[GATEWAY].shutdown_grace
        cut = await inflight.drain(grace)
        if cut:
            log.warning("shutdown: ended %d stream(s) still open after %.0fs", cut, grace)

    return end_streams


def build_app(
    config: RouterConfig,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    reload_from: tuple[Callable[[], RouterConfig], Path | None] | None = None,
) -> web.Application:
    """The gateway for `config`; `clock` (default: the system's) times account cooldowns.
    `reload_from`: how to load the effective config again and which file to watch (serve passes both;
    without it, a reload request reports that there is nothing to reload)."""
    env = os.environ if environ is None else environ
    app = web.Application(
        middlewares=[error_middleware, body_limit_middleware(config.server)],
        client_max_size=config.server.max_body_bytes,
    )
    app[GATEWAY] = build_context(config, env)
    app[RELOADERS] = []  # the listeners' TLS certificate reloaders, re-read by ReloadConfig
    inflight = InFlight()
    app.on_shutdown.append(_end_streams(inflight))
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(_token_service)
    app.cleanup_ctx.append(_account_pool(clock))
    app.cleanup_ctx.append(_shared_pool)
    app.cleanup_ctx.append(_providers)
    setup_telemetry(app)  # metrics, before the exchange and the admin server that report to them
    add_reloader(app, *(reload_from or (None, None)))
    app.cleanup_ctx.append(_exchange(inflight))
    app.cleanup_ctx.append(admin_grpc_ctx)
    add_health_routes(app)
    add_openapi_route(app)
    add_accounts_routes(app)
    add_anthropic_routes(app)
    add_bedrock_routes(app)
    add_vertex_routes(app)
    add_token_routes(app)
    add_openai_routes(app)
    add_provider_door(app)
    add_gonka_door(app)
    add_mpp_gate(app)
    add_provider_routes(app)
    add_reload_routes(app)
    add_activitypub_routes(app)
    add_crater_door(app)
    add_fallback_route(app)
    return app
