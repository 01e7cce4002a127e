"""The one wiring function of a gateway process: typed config in, aiohttp application out.

Everything with a lifetime (the upstream ClientSession, the token service, credential sources) is
opened in the app's `cleanup_ctx` and closed there. Route modules expose `add_<x>_routes(app)`;
add your call in `build_app` before `add_fallback_route`, which matches every path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
from aiohttp import web

from dsl.model import RouterConfig
from gateway.accounts.build import build_account_pool
from gateway.context import GATEWAY, GatewayContext
from gateway.credentials.build import expand_home
from gateway.credentials.secrets import resolve_secret
from gateway.http.accounts_routes import add_accounts_routes
from gateway.http.health import add_health_routes
from gateway.http.middleware import error_middleware
from gateway.http.socket_identity import KeyFileError, read_default_key
from gateway.http.token_routes import add_token_routes
from gateway.listeners import listener_problems
from gateway.openai.routes import add_openai_routes
from gateway.providers.routes import add_provider_routes
from gateway.proxy.routes import add_anthropic_routes, add_fallback_route
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
    problems = listener_problems(config.server)
    if problems:
        raise ConfigurationError("; ".join(problems))
    try:
        socket_key = read_default_key(config.server.default_key_file)
    except KeyFileError as err:
        raise ConfigurationError(str(err)) from None
    return GatewayContext(
        config=config,
        environ=dict(environ),
        data_dir=resolve_data_dir(config, environ),
        token_secret=secret,
        socket_key=socket_key,
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


async def _end_streams(app: web.Application) -> None:
    """Shutdown, after the listeners stopped: let relayed streams finish, then end the rest cleanly."""
    ctx = app[GATEWAY]
    cut = await ctx.inflight.drain(ctx.shutdown_grace)
    if cut:
        log.warning("shutdown: ended %d stream(s) still open after %.0fs", cut, ctx.shutdown_grace)


def build_app(config: RouterConfig, environ: Mapping[str, str] | None = None) -> web.Application:
    env = os.environ if environ is None else environ
    ctx = build_context(config, env)
    app = web.Application(middlewares=[error_middleware], client_max_size=config.server.max_body_bytes)
    app[GATEWAY] = ctx
    app.on_shutdown.append(_end_streams)
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(_token_service)
    app.cleanup_ctx.append(_account_pool)
    # Redis and gRPC are imported only when configured: a sidecar starts faster and smaller without.
    if resolve_secret(config.redis.url, env):
        from gateway.accounts.redis_sync import shared_pool_ctx

        app.cleanup_ctx.append(shared_pool_ctx)
    if config.server.admin_grpc_port is not None or config.server.admin_grpc_socket:
        from gateway.admin_grpc.server import admin_grpc_ctx

        app.cleanup_ctx.append(admin_grpc_ctx)
    setup_telemetry(app)
    add_health_routes(app)
    add_accounts_routes(app)
    add_anthropic_routes(app)
    add_token_routes(app)
    add_openai_routes(app)
    add_provider_routes(app)
    add_fallback_route(app)
    return app
