"""Wire telemetry into a gateway app: metrics object, middleware, routes and their lifetime.

`setup_telemetry(app)` is the one call `build_app` makes; it reads the config from the app's
`GatewayContext`. Metrics exist only when features.metrics is on (the seed's --disable-metrics);
request ids are always stamped; the JSON access log follows server.json_logs. With an OTLP endpoint
(`telemetry:` block or OTEL_EXPORTER_OTLP_ENDPOINT) metrics are also pushed and requests traced.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from opentelemetry.sdk.resources import Resource

from gateway.context import GATEWAY
from gateway.http.metrics_routes import add_metrics_routes
from gateway.telemetry.export import export_plan
from gateway.telemetry.labels import AccountLabels
from gateway.telemetry.metrics import AccountSample, GatewayMetrics, KeySample
from gateway.telemetry.middleware import Sink, install_telemetry
from gateway.telemetry.otlp import otlp_metric_reader, otlp_span_exporter
from gateway.telemetry.tracing import Tracing
from gateway.tlsfiles import RELOADERS

TRACING = web.AppKey("tracing", Tracing)
"""The app's tracing, when an OTLP endpoint is known and traces are on (the upstream session's hooks)."""


def setup_telemetry(app: web.Application, sink: Sink | None = None) -> None:
    ctx = app[GATEWAY]
    config = ctx.config
    plan = export_plan(config, ctx.environ)
    resource = Resource.create({"service.name": plan.service_name})
    models = tuple(m for p in config.providers for m in p.models)
    models += tuple(a.alias for a in config.model_aliases)
    providers = {p.name: p.kind for p in config.providers}
    push = otlp_metric_reader(plan) if plan.metrics else None
    metrics = None
    if config.features.metrics or push is not None:
        metrics = GatewayMetrics(
            preload_models=models,
            resource=resource,
            extra_readers=(push,) if push is not None else (),
            account_labels=AccountLabels(plan.account_labels, [a.name for a in config.accounts]),
            providers=providers,
        )
    ctx.metrics = metrics
    tracing = None
    if plan.traces and plan.endpoint is not None:
        exporter = otlp_span_exporter(plan.endpoint)
        tracing = Tracing(exporter, plan.ratio, resource, providers, plan.account_labels)
        app[TRACING] = tracing
    install_telemetry(app, metrics, config.server.json_logs, sink, tracing)
    add_metrics_routes(app)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        if metrics is not None:
            metrics.watch_accounts(lambda: accounts_of(app[GATEWAY].pool))
            metrics.watch_keys(lambda: keys_of(app[GATEWAY].tokens))
            metrics.watch_tls(lambda: sum(r.failures for r in app[GATEWAY].extras.get(RELOADERS, [])))
        yield
        # Shutting down flushes to the collector with blocking gRPC calls: off the event loop.
        if metrics is not None:
            await asyncio.to_thread(metrics.shutdown)
        if tracing is not None:
            await asyncio.to_thread(tracing.close)

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
            int((entry.get("refresh") or {}).get("failures") or 0),
        )
        for entry in pool.snapshot()
    ]


def keys_of(tokens: Any) -> list[KeySample]:
    """Budgets of the keys that can still be used (none without a token service)."""
    if tokens is None or not hasattr(tokens, "list"):
        return []
    now = time.time()
    return [
        KeySample(r.used_requests, r.max_requests, r.used_tokens, r.max_tokens)
        for r in tokens.list()
        if not r.revoked and (not r.expires_at or r.expires_at > now)
    ]
