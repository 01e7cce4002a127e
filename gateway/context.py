"""The settings of one gateway process, and the typed keys of what lives on its aiohttp app.

`gateway.app.build_app` creates one `GatewayContext` per process (the typed config and what was
resolved from the environment at start-up) and stores it under `GATEWAY`. Each resource with a
lifetime has its own typed key, set by its own `cleanup_ctx` in the wiring function and closed
there: the upstream ClientSession (`HTTP_SESSION`, here), the token service (`TOKENS`), the
account pool (`POOL`), the provider store (`PROVIDERS`), the metrics (`METRICS`) and the exchange
(`EXCHANGE`), each next to its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from dsl.model import RouterConfig


@dataclass
class GatewayContext:
    """The process's settings, built once from the typed config and the environment."""

    config: RouterConfig
    environ: Mapping[str, str]
    data_dir: Path
    token_secret: str = field(repr=False)
    shutdown_grace: float = 10.0
    """Seconds a shutdown lets relayed streams finish before it ends them."""
    socket_key: str | None = field(default=None, repr=False)
    """The key socket requests without their own act as (`server: default-key-file`), or None."""


GATEWAY = web.AppKey("gateway", GatewayContext)
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
"""The one upstream ClientSession (bodies pass through raw: no decompression)."""
