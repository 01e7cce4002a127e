"""Wire telemetry into a gateway app: the metrics in their own lifetime, the middleware, the routes.

`setup_telemetry(app)` is the one call `build_app` makes; it reads the config from the app's
`GatewayContext`. Metrics exist only when features.metrics is on (the seed's --disable-metrics):
then a `cleanup_ctx` makes them, stores them under `METRICS` and shuts them down; request ids are
always stamped; the JSON access log follows server.json_logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from gateway.accounts.pool import POOL, AccountPool
from gateway.context import GATEWAY
from gateway.http.metrics_routes import add_metrics_routes
from gateway.telemetry.metrics import METRICS, AccountSample, GatewayMetrics
from gateway.telemetry.middleware import Meters, Sink, install_telemetry


def setup_telemetry(app: web.Application, sink: Sink | None = None) -> None:
    config = app[GATEWAY].config
    meters = install_telemetry(app, config.server.json_logs, sink)
    add_metrics_routes(app)
    if config.features.metrics:
        app.cleanup_ctx.append(_metrics(meters))


def _metrics(meters: Meters) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        config = app[GATEWAY].config
        models = tuple(m for p in config.providers for m in p.models)
        models += tuple(a.alias for a in config.model_aliases)
        metrics = GatewayMetrics(preload_models=models)
        app[METRICS] = meters.metrics = metrics
        metrics.watch_accounts(lambda: accounts_of(app.get(POOL)))
        try:
            yield
        finally:
            meters.metrics = None
            metrics.shutdown()

    return lifetime


def accounts_of(pool: AccountPool | None) -> list[AccountSample]:
    """Account gauges from the pool's /v1/accounts snapshot (none without a pool)."""
    if pool is None:
        return []
    return [
        AccountSample(
            str(entry.get("name", "")),
            str(entry.get("state") or ""),
            float(entry.get("cooldown_remaining_seconds") or 0),
        )
        for entry in pool.snapshot()
    ]
