"""Wire telemetry into a gateway app: metrics object, middleware, routes and their lifetime.

`setup_telemetry(app)` is the one call `build_app` makes; it reads the config from the app's
`GatewayContext`. Metrics exist only when features.metrics is on (the seed's --disable-metrics);
request ids are always stamped; the JSON access log follows server.json_logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from gateway.context import GATEWAY
from gateway.http.metrics_routes import add_metrics_routes
from gateway.telemetry.metrics import AccountSample, GatewayMetrics
from gateway.telemetry.middleware import Sink, install_telemetry


def setup_telemetry(app: web.Application, sink: Sink | None = None) -> None:
    ctx = app[GATEWAY]
    config = ctx.config
    models = tuple(m for p in config.providers for m in p.models)
    models += tuple(a.alias for a in config.model_aliases)
    metrics = GatewayMetrics(preload_models=models) if config.features.metrics else None
    ctx.metrics = metrics
    install_telemetry(app, metrics, config.server.json_logs, sink)
    add_metrics_routes(app)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        if metrics is not None:
            metrics.watch_accounts(lambda: accounts_of(app[GATEWAY].pool))
        yield
        if metrics is not None:
            metrics.shutdown()

    app.cleanup_ctx.append(lifetime)


def accounts_of(pool: Any) -> list[AccountSample]:
    """Account gauges from the pool's /v1/accounts snapshot (none without a pool)."""
    if pool is None or not hasattr(pool, "snapshot"):
        return []
    return [
        AccountSample(
            str(entry.get("name", "")),
            str(entry.get("state") or ""),
            float(entry.get("cooldown_remaining_seconds") or 0),
        )
        for entry in pool.snapshot()
    ]
