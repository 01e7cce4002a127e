"""The `telemetry:` block merged with OTEL_* variables (pure): the DSL wins, then the environment."""

from __future__ import annotations

import dataclasses

import pytest

from dsl.config.loader import load_config
from dsl.errors import DslValidationError
from dsl.model import RouterConfig, ServerConfig, TelemetryConfig
from gateway.cli.serve_cmd import serve
from gateway.telemetry.export import TelemetrySettingError, export_plan, sampling_from_env
from gateway.telemetry.labels import AccountLabels

COLLECTOR = "http://127.0.0.1:4317"
AT = {"OTEL_EXPORTER_OTLP_ENDPOINT": COLLECTOR}
RATIO = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.01"}


def cfg(host: str = "0.0.0.0", **telemetry: object) -> RouterConfig:
    return RouterConfig(server=ServerConfig(host=host), telemetry=TelemetryConfig(**telemetry))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "env", "expected"),
    [
        (cfg(), {}, dict(endpoint=None, traces=False, metrics=False, ratio=1.0)),
        (cfg(), AT, dict(endpoint=COLLECTOR, traces=True, metrics=True)),
        (cfg(otlp_endpoint="http://other:4317"), AT, dict(endpoint="http://other:4317")),
        (cfg(otlp_endpoint=COLLECTOR, traces=False), {}, dict(traces=False, metrics=True)),
        (cfg(otlp_endpoint=COLLECTOR), {"OTEL_TRACES_EXPORTER": "none"}, dict(traces=False, metrics=True)),
        (cfg(otlp_endpoint=COLLECTOR), {"OTEL_METRICS_EXPORTER": "none"}, dict(traces=True, metrics=False)),
        (cfg(sampling=0.25), {"OTEL_TRACES_SAMPLER": "always_off"}, dict(ratio=0.25)),
        (cfg(), RATIO, dict(ratio=0.01)),
        (cfg(service_name="edge"), {"OTEL_SERVICE_NAME": "env"}, dict(service_name="edge")),
        (cfg(), {"OTEL_SERVICE_NAME": "env"}, dict(service_name="env")),
        (cfg(), {}, dict(service_name="link-assistant-router", account_labels=False)),
        (cfg("127.0.0.1"), {}, dict(account_labels=True)),
        (cfg("::1"), {}, dict(account_labels=True)),
        (cfg("localhost", account_labels=False), {}, dict(account_labels=False)),
        (cfg("10.0.0.5", account_labels=True), {}, dict(account_labels=True)),
    ],
)
def test_plan(config: RouterConfig, env: dict[str, str], expected: dict[str, object]) -> None:
    plan = dataclasses.asdict(export_plan(config, env))
    assert {key: plan[key] for key in expected} == expected


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_SAMPLER": "jaeger_remote"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
    ],
)
def test_unusable_sampler_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(TelemetrySettingError, match="OTEL_TRACES_SAMPLER"):
        sampling_from_env(env)


def test_the_dsl_block() -> None:
    config = load_config(
        "telemetry:\n  otlp-endpoint 'https://collector.example:4317'\n  sampling 1%\n"
        "  service-name edge\n  account-labels true\n  traces false\n"
    )
    assert config.telemetry == TelemetryConfig("https://collector.example:4317", False, 0.01, "edge", True)
    assert not export_plan(config, {}).insecure
    with pytest.raises(DslValidationError, match="ratio from 0 to 1"):
        load_config("telemetry:\n  sampling 150%\n")


def test_account_labels() -> None:
    hidden = AccountLabels(False, ["alpha", "beta"])
    labels = [hidden.label(n) for n in ("alpha", "beta", "gonka", "")]
    assert labels == ["account-1", "account-2", "other", ""]
    shown = AccountLabels(True, ["alpha"])
    assert shown.label("gonka") == "gonka"


def test_serve_stops_on_a_sampler_it_cannot_honour(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"TOKEN_SECRET": "s" * 32, "OTEL_TRACES_SAMPLER": "jaeger_remote"}
    assert serve(RouterConfig(), env) == 2
    assert "OTEL_TRACES_SAMPLER='jaeger_remote'" in capsys.readouterr().err
