"""Observability: OpenTelemetry metrics with Prometheus exposition, request ids, JSON access logs."""
