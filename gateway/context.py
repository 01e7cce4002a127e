"""The one application object of a gateway process, and its typed key on the aiohttp app.

`gateway.app.build_app` creates one `GatewayContext` per process and stores it under `GATEWAY`.
Handlers read it with `request.app[GATEWAY]`. Fields that own I/O (the upstream ClientSession, the
token store) are filled in by the app's `cleanup_ctx` and closed there, never at import time.
Other engineers add a field here with a minimal edit when they need one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from aiohttp import web

from dsl.model import RouterConfig
from gateway.proxy.inflight import InFlight

if TYPE_CHECKING:
    from gateway.proxy.pool import AccountPool


class TokenAuthority(Protocol):
    """What the proxy needs from the token service (`gateway.tokens.service.TokenService`)."""

    async def authorize(self, headers: Mapping[str, str]) -> Any: ...

    async def record_usage(self, token_id: str, input_tokens: int, output_tokens: int) -> None: ...

    async def close(self) -> None: ...


@dataclass
class GatewayContext:
    """Everything a request handler may need, built once from the typed config."""

    config: RouterConfig
    environ: Mapping[str, str]
    data_dir: Path
    token_secret: str = field(repr=False)
    tokens: TokenAuthority | None = None
    pool: AccountPool | None = None
    providers: Any = None
    metrics: Any = None
    http: aiohttp.ClientSession | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    inflight: InFlight = field(default_factory=InFlight)
    """Streams being relayed; shutdown waits `shutdown_grace` seconds for them, then ends them."""
    shutdown_grace: float = 10.0
    socket_key: str | None = field(default=None, repr=False)
    """The key socket requests without their own act as (`server: default-key-file`), or None."""

    def session(self) -> aiohttp.ClientSession:
        """The shared upstream ClientSession; only valid while the app runs."""
        if self.http is None:
            raise RuntimeError("the upstream HTTP session is not open (app not started)")
        return self.http

    def token_authority(self) -> TokenAuthority:
        if self.tokens is None:
            raise RuntimeError("the token service is not open (app not started)")
        return self.tokens

    def account_pool(self) -> AccountPool:
        if self.pool is None:
            raise RuntimeError("the account pool is not built (app not started)")
        return self.pool


GATEWAY = web.AppKey("gateway", GatewayContext)
