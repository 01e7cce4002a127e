"""`GET /metrics` (Prometheus text exposition) and `GET /v1/usage` (the seed's JSON counters).

Thin: reads the app's `GatewayMetrics` and renders it. With metrics disabled
(`--disable-metrics` / features.metrics off) both answer 404 in the Anthropic error shape, so the
route is really hidden and never falls through to the proxy.
"""

from __future__ import annotations

from aiohttp import web

from gateway.errors import not_found
from gateway.telemetry.metrics import METRICS, PROMETHEUS_CONTENT_TYPE, GatewayMetrics


def _metrics_of(request: web.Request) -> GatewayMetrics:
    metrics = request.app.get(METRICS)
    if metrics is None:
        raise not_found("Not found")
    return metrics


async def prometheus(request: web.Request) -> web.Response:
    body = _metrics_of(request).exposition()
    return web.Response(body=body, headers={"Content-Type": PROMETHEUS_CONTENT_TYPE})


async def usage(request: web.Request) -> web.Response:
    return web.json_response(_metrics_of(request).usage.snapshot())


def add_metrics_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/v1/usage", usage)
