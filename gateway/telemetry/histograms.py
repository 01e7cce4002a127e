"""Pre-aggregated histograms for the hot path, exported through the OpenTelemetry SDK's readers.

An SDK `Histogram.record` costs ~8-30 µs here (attribute hashing, context lookup, locks) and the
API has no observable histogram. So the request path records into `LocalHistogram` (a bisect
and three additions on a per-label-set point) and the readers below merge those points, as
ordinary SDK `Histogram` metrics with explicit buckets and cumulative temporality, into what the
SDK collected. Exporters (Prometheus, in-memory for tests) see one consistent `MetricsData`.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    MetricsData,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope


@dataclass
class _Point:
    attributes: Mapping[str, str]
    counts: list[int]
    count: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")


@dataclass
class LocalHistogram:
    """A cumulative explicit-bucket histogram keyed by a label tuple (OTel bucket semantics:
    bucket i holds values in (bounds[i-1], bounds[i]])."""

    name: str
    unit: str
    description: str
    bounds: tuple[float, ...]
    start_ns: int = field(default_factory=time.time_ns)
    _points: dict[tuple[str, ...], _Point] = field(default_factory=dict)

    def record(self, value: float, key: tuple[str, ...], attributes: Mapping[str, str]) -> None:
        point = self._points.get(key)
        if point is None:
            point = self._points[key] = _Point(dict(attributes), [0] * (len(self.bounds) + 1))
        point.counts[bisect_left(self.bounds, value)] += 1
        point.count += 1
        point.total += value
        if value < point.low:
            point.low = value
        if value > point.high:
            point.high = value

    def metric(self, now_ns: int) -> Metric | None:
        if not self._points:
            return None
        points = [
            HistogramDataPoint(
                attributes=p.attributes,
                start_time_unix_nano=self.start_ns,
                time_unix_nano=now_ns,
                count=p.count,
                sum=p.total,
                bucket_counts=list(p.counts),
                explicit_bounds=self.bounds,
                min=p.low,
                max=p.high,
            )
            for p in list(self._points.values())
        ]
        data = Histogram(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE)
        return Metric(name=self.name, description=self.description, unit=self.unit, data=data)


LocalSource = Callable[[], Sequence[LocalHistogram]]


def merge(
    collected: MetricsData | None, local: Sequence[LocalHistogram], resource: Resource, scope: str
) -> MetricsData:
    """`collected` plus one scope holding the local histograms that have data."""
    now = time.time_ns()
    metrics = [m for h in local if (m := h.metric(now)) is not None]
    if not metrics:
        return collected if collected is not None else MetricsData(resource_metrics=[])
    extra = ScopeMetrics(scope=InstrumentationScope(scope), metrics=metrics, schema_url="")
    existing = list(collected.resource_metrics) if collected is not None else []
    if not existing:
        return MetricsData(resource_metrics=[ResourceMetrics(resource, [extra], "")])
    first = existing[0]
    # Into the SDK's own scope of that name when it has one: the OTLP encoder keys scopes by name,
    # so a second scope named alike would replace the first one's metrics.
    scopes = list(first.scope_metrics)
    for i, held in enumerate(scopes):
        if held.scope.name == scope:
            scopes[i] = ScopeMetrics(held.scope, [*held.metrics, *metrics], held.schema_url)
            break
    else:
        scopes.append(extra)
    merged = ResourceMetrics(first.resource, scopes, first.schema_url)
    return MetricsData(resource_metrics=[merged, *existing[1:]])


class _WithLocal:
    """Mixin for SDK readers: hand the exporter SDK metrics plus the local histograms."""

    _local: LocalSource = tuple
    _resource: Resource = Resource.get_empty()
    _scope: str = ""

    def attach(self, local: LocalSource, resource: Resource, scope: str) -> None:
        self._local, self._resource, self._scope = local, resource, scope

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        merged = merge(metrics_data, self._local(), self._resource, self._scope)
        super()._receive_metrics(merged, timeout_millis, **kwargs)  # type: ignore[misc]


class PrometheusReader(_WithLocal, PrometheusMetricReader):
    """The Prometheus exporter's reader, with local histograms."""


class InMemoryReader(_WithLocal, InMemoryMetricReader):
    """The SDK's in-memory reader (tests), with local histograms."""


class PushReader(_WithLocal, PeriodicExportingMetricReader):
    """The SDK's periodic push reader (OTLP), with local histograms."""
