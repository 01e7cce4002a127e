"""Local histograms: OpenTelemetry explicit-bucket semantics and merging into SDK output."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import Histogram, MetricsData
from opentelemetry.sdk.resources import Resource

from gateway.telemetry.histograms import LocalHistogram, merge


def test_bucket_semantics_match_opentelemetry() -> None:
    hist = LocalHistogram("h", "s", "", (0.01, 0.1, 1.0))
    for value in (0.0, 0.01, 0.011, 0.1, 5.0):
        hist.record(value, ("a",), {"route": "a"})
    hist.record(0.5, ("b",), {"route": "b"})
    metric = hist.metric(now_ns=1)
    assert metric is not None and isinstance(metric.data, Histogram)
    by_route = {p.attributes["route"]: p for p in metric.data.data_points}
    a = by_route["a"]
    assert list(a.bucket_counts) == [2, 2, 0, 1]  # (-inf,0.01] (0.01,0.1] (0.1,1] (1,+inf)
    assert (a.count, a.sum, a.min, a.max) == (5, 5.121, 0.0, 5.0)
    assert list(by_route["b"].bucket_counts) == [0, 0, 1, 0]


def test_empty_histograms_add_nothing_and_data_gets_a_scope() -> None:
    empty = LocalHistogram("h", "s", "", (1.0,))
    assert merge(None, [empty], Resource.get_empty(), "scope") == MetricsData(resource_metrics=[])
    empty.record(2.0, (), {})
    merged = merge(None, [empty], Resource.get_empty(), "scope")
    (resource_metrics,) = merged.resource_metrics
    (scope_metrics,) = resource_metrics.scope_metrics
    assert scope_metrics.scope.name == "scope" and [m.name for m in scope_metrics.metrics] == ["h"]
