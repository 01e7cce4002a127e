"""Wire telemetry into a gateway app: the metrics in their own lifetime, tracing, the middleware, the routes.

`setup_telemetry(app)` is the one call `build_app` makes; it reads the config from the app's
`GatewayContext`. Metrics exist when features.metrics is on (the seed's --disable-metrics) or an
OTLP endpoint is known (`telemetry:` block or OTEL_EXPORTER_OTLP_ENDPOINT): then a `cleanup_ctx`
makes them, stores them under `METRICS` and shuts them down. With an endpoint and traces on,
requests are traced (`TRACING`, read by the upstream session for its per-attempt spans). Request
ids are always stamped; the JSON access log follows server.json_logs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from opentelemetry.sdk.resources import Resource

from gateway.accounts.pool import POOL, AccountPool
from gateway.context import GATEWAY
from gateway.http.metrics_routes import add_metrics_routes
from gateway.telemetry.export import ExportPlan, export_plan
from gateway.telemetry.labels import AccountLabels
from gateway.telemetry.metrics import METRICS, AccountSample, GatewayMetrics, KeySample
from gateway.telemetry.middleware import Meters, Sink, install_telemetry
from gateway.telemetry.tracing import TRACING, Tracing
from gateway.tlsfiles import RELOADERS
from gateway.tokens.service import TOKENS, TokenService


def setup_telemetry(app: web.Application, sink: Sink | None = None) -> None:
    ctx = app[GATEWAY]
    config = ctx.config
    plan = export_plan(config, ctx.environ)
    resource = Resource.create({"service.name": plan.service_name})
    providers = {p.name: p.kind for p in config.providers}
    tracing = None
    if plan.traces and plan.endpoint is not None:
        # The OTLP exporters pull in gRPC: imported only when a collector is configured (a sidecar
        # without one stays small and quick to start).
        from gateway.telemetry.otlp import otlp_span_exporter

        exporter = otlp_span_exporter(plan.endpoint)
        tracing = Tracing(exporter, plan.ratio, resource, providers, plan.account_labels)
        app[TRACING] = tracing  # made now: the upstream session (an earlier lifetime) hooks into it
        app.cleanup_ctx.append(_tracing(tracing))
    meters = install_telemetry(app, config.server.json_logs, sink, tracing)
    add_metrics_routes(app)
    if config.features.metrics or plan.metrics:
        app.cleanup_ctx.append(_metrics(meters, plan, resource, providers))


def _tracing(tracing: Tracing) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(tracing.close)  # flushes with blocking gRPC calls: off the event loop

    return lifetime


def _metrics(
    meters: Meters, plan: ExportPlan, resource: Resource, providers: dict[str, str]
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        config = app[GATEWAY].config
        models = tuple(m for p in config.providers for m in p.models)
        models += tuple(a.alias for a in config.model_aliases)
        push = None
        if plan.metrics:
            from gateway.telemetry.otlp import otlp_metric_reader

            push = otlp_metric_reader(plan)
        metrics = GatewayMetrics(
            preload_models=models,
            resource=resource,
            extra_readers=(push,) if push is not None else (),
            account_labels=AccountLabels(plan.account_labels, [a.name for a in config.accounts]),
            providers=providers,
        )
        app[METRICS] = meters.metrics = metrics
        metrics.watch_accounts(lambda: accounts_of(app.get(POOL)))
        metrics.watch_keys(lambda: keys_of(app.get(TOKENS)))
        metrics.watch_tls(lambda: sum(r.failures for r in app.get(RELOADERS, [])))
        try:
            yield
        finally:
            meters.metrics = None
            # A push reader flushes to the collector with blocking gRPC calls: off the event loop.
            await asyncio.to_thread(metrics.shutdown)

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
            int((entry.get("refresh") or {}).get("failures") or 0),
        )
        for entry in pool.snapshot()
    ]


def keys_of(tokens: TokenService | None) -> list[KeySample]:
    """Budgets of the keys that can still be used (none without a token service)."""
    if tokens is None:
        return []
    now = time.time()
    return [
        KeySample(r.used_requests, r.max_requests, r.used_tokens, r.max_tokens)
        for r in tokens.list()
        if not r.revoked and (not r.expires_at or r.expires_at > now)
    ]
