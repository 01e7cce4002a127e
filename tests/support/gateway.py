"""Start a real gateway (`build_app` on an aiohttp AppRunner, 127.0.0.1:0) for a config and env.

    async with running_gateway(config, env) as gw:
        key = await gw.issue_key(label="alice")
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key)

Also small builders for test configs and Claude Code credential dirs.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from dsl.model import (
    AccountConfig,
    FeaturesConfig,
    RouterConfig,
    SecretRef,
    StorageConfig,
    StoragePolicy,
    TimeoutConfig,
    UpstreamConfig,
)
from gateway.accounts.pool import POOL, AccountPool
from gateway.accounts.state import Clock
from gateway.app import build_app
from gateway.context import GATEWAY, GatewayContext
from gateway.tokens.service import TOKENS, TokenService

TEST_SECRET = "test-token-secret-0123456789abcdef"


@dataclass
class RunningGateway:
    url: str
    app: web.Application
    tls_url: str | None = None
    """The same gateway over HTTPS, when started with an `ssl_context` (clients that refuse HTTP)."""

    @property
    def ctx(self) -> GatewayContext:
        return self.app[GATEWAY]

    @property
    def tokens(self) -> TokenService:
        return self.app[TOKENS]

    @property
    def pool(self) -> AccountPool:
        return self.app[POOL]

    async def issue_key(self, **kwargs: Any) -> str:
        """Issue an la_sk_ key through the token service (label, ttl_hours, max_requests, account...)."""
        tokens: Any = self.tokens
        result = tokens.issue(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        token = result if isinstance(result, str) else getattr(result, "token", None)
        if token is None and isinstance(result, tuple):
            token = next(x for x in result if isinstance(x, str) and x.startswith("la_sk_"))
        assert isinstance(token, str) and token.startswith("la_sk_"), result
        return token


@asynccontextmanager
async def running_gateway(
    config: RouterConfig,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    port: int = 0,
    *,
    ssl_context: ssl.SSLContext | None = None,
    reload_from: tuple[Callable[[], RouterConfig], Path | None] | None = None,
) -> AsyncIterator[RunningGateway]:
    """`clock` (a `tests.accounts.vclock.VirtualClock`) lets a test move account cooldowns on."""
    env = {"TOKEN_SECRET": TEST_SECRET, **(environ or {})}
    app = build_app(config, env, clock, reload_from=reload_from)
    runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server: Any = site._server
    port = server.sockets[0].getsockname()[1]
    tls_url = None
    if ssl_context is not None:
        tls_site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await tls_site.start()
        tls_server: Any = tls_site._server
        tls_url = f"https://127.0.0.1:{tls_server.sockets[0].getsockname()[1]}"
    try:
        yield RunningGateway(f"http://127.0.0.1:{port}", app, tls_url)
    finally:
        await _cleanup(runner)


async def _cleanup(runner: web.AppRunner) -> None:
    """Stop the gateway and every connection it accepted. Closing a TLS connection waits (up to
    asyncio's 30 s SSL shutdown timeout) for the peer's close_notify, which a client that already
    hung up never sends; the test's loop would end first and leak the socket, so after the graceful
    shutdown the connections left are aborted."""
    server = runner.server
    transports = list(server._connections.values()) if server is not None else []
    await runner.cleanup()
    for transport in transports:
        transport.abort()


def write_credentials(
    home: Path,
    access_token: str,
    refresh_token: str | None = None,
    expires_at_ms: int | None = None,
    nested: bool = True,
    filename: str | None = None,
) -> Path:
    """A Claude Code credential dir: nested `.credentials.json` or flat `credentials.json`."""
    home.mkdir(parents=True, exist_ok=True)
    block: dict[str, Any] = {"accessToken": access_token}
    if refresh_token is not None:
        block["refreshToken"] = refresh_token
    if expires_at_ms is not None:
        block["expiresAt"] = expires_at_ms
    data = (
        {"claudeAiOauth": {**block, "scopes": ["user:inference"], "subscriptionType": "max"}}
        if nested
        else block
    )
    path = home / (filename or (".credentials.json" if nested else "credentials.json"))
    path.write_text(json.dumps(data))
    return path


def gateway_config(
    upstream_url: str,
    data_dir: Path,
    claude_home: Path | None = None,
    accounts: tuple[AccountConfig, ...] = (),
    features: FeaturesConfig | None = None,
    timeouts: TimeoutConfig | None = None,
    **routing: Any,
) -> RouterConfig:
    """A config pointing every upstream call (messages and OAuth refresh) at the stand-in."""
    base = RouterConfig()
    upstream = UpstreamConfig(
        base_url=upstream_url,
        claude_code_home=str(claude_home) if claude_home else str(data_dir / "no-claude-home"),
        timeouts=timeouts or TimeoutConfig(connect=2.0, first_byte=10.0, idle=10.0),
        oauth_token_url=f"{upstream_url}/v1/oauth/token",
    )
    return dataclasses.replace(
        base,
        upstream=upstream,
        accounts=accounts,
        storage=StorageConfig(policy=StoragePolicy.BOTH, data_dir=str(data_dir)),
        # No admin gRPC listener unless a test asks (the default port 9090 would collide).
        server=dataclasses.replace(base.server, host="127.0.0.1", admin_grpc_port=None),
        features=features or FeaturesConfig(),
        routing=dataclasses.replace(base.routing, **routing),
    )


def api_key_account(name: str, env_var: str) -> AccountConfig:
    return AccountConfig(name=name, api_key=SecretRef(env=env_var))
