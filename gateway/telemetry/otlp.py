"""The OTLP/gRPC exporters: spans and metrics pushed to a collector.

Only construction lives here; what to push and where comes from `export.ExportPlan`. The exporters
read the other standard variables themselves (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _CERTIFICATE,
OTEL_METRIC_EXPORT_INTERVAL). Metrics use cumulative temporality, as Prometheus does, so a
collector sees the same numbers as a scrape.
"""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

from gateway.telemetry.export import ExportPlan
from gateway.telemetry.histograms import PushReader


def otlp_span_exporter(endpoint: str) -> OTLPSpanExporter:
    return OTLPSpanExporter(endpoint=endpoint, insecure=not endpoint.startswith("https://"))


def otlp_metric_reader(plan: ExportPlan) -> PushReader:
    assert plan.endpoint is not None
    exporter = OTLPMetricExporter(endpoint=plan.endpoint, insecure=plan.insecure)
    return PushReader(exporter)
