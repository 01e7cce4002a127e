"""Where telemetry is pushed and how much of it: the `telemetry:` block merged with OTEL_* variables.

Pure: config and environment in, an `ExportPlan` out; no OpenTelemetry SDK, no I/O. The DSL wins
over the environment; the environment wins over the defaults, as the OpenTelemetry specification
asks of SDK configuration. Other OTEL_* variables the SDK itself reads (OTEL_EXPORTER_OTLP_HEADERS,
_TIMEOUT, _CERTIFICATE, OTEL_RESOURCE_ATTRIBUTES, OTEL_METRIC_EXPORT_INTERVAL) act unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from dsl.model import RouterConfig

DEFAULT_SERVICE = "link-assistant-router"
# OTEL_TRACES_SAMPLER values we honour: the ratio each one means (None: read OTEL_TRACES_SAMPLER_ARG).
_SAMPLERS: dict[str, float | None] = {
    "always_on": 1.0,
    "always_off": 0.0,
    "traceidratio": None,
    "parentbased_always_on": 1.0,
    "parentbased_always_off": 0.0,
    "parentbased_traceidratio": None,
}


class TelemetrySettingError(ValueError):
    """An OTEL_* variable holds a value we cannot honour (the message names it, never a secret)."""


@dataclass(frozen=True)
class ExportPlan:
    endpoint: str | None
    """The OTLP/gRPC collector; None: nothing is pushed and no spans are made."""
    traces: bool
    metrics: bool
    ratio: float
    service_name: str
    account_labels: bool

    @property
    def insecure(self) -> bool:
        return self.endpoint is not None and not self.endpoint.startswith("https://")


def export_plan(config: RouterConfig, environ: Mapping[str, str]) -> ExportPlan:
    telemetry = config.telemetry
    endpoint = telemetry.otlp_endpoint or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    traces_off = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none"
    metrics_off = environ.get("OTEL_METRICS_EXPORTER", "").strip().lower() == "none"
    ratio = telemetry.sampling if telemetry.sampling is not None else sampling_from_env(environ)
    service = telemetry.service_name or environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE
    labels = telemetry.account_labels
    if labels is None:
        labels = is_loopback(config.server.host)
    return ExportPlan(
        endpoint=endpoint,
        traces=endpoint is not None and telemetry.traces and not traces_off,
        metrics=endpoint is not None and not metrics_off,
        ratio=ratio,
        service_name=service,
        account_labels=labels,
    )


def sampling_from_env(environ: Mapping[str, str]) -> float:
    """The share of new traces OTEL_TRACES_SAMPLER(_ARG) asks for; 1 when unset."""
    name = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_always_on"
    if name not in _SAMPLERS:
        raise TelemetrySettingError(f"OTEL_TRACES_SAMPLER={name!r} is not one of {', '.join(_SAMPLERS)}")
    fixed = _SAMPLERS[name]
    if fixed is not None:
        return fixed
    arg = environ.get("OTEL_TRACES_SAMPLER_ARG", "1").strip()
    try:
        value = float(arg)
    except ValueError:
        raise TelemetrySettingError(f"OTEL_TRACES_SAMPLER_ARG={arg!r} is not a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise TelemetrySettingError(f"OTEL_TRACES_SAMPLER_ARG={arg!r} is not a number from 0 to 1")
    return value


def is_loopback(host: str) -> bool:
    """True for listeners only this machine can reach (`127.0.0.1`, `::1`, `localhost`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
