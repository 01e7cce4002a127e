"""What /metrics shows beyond the request counters: target_info, process and runtime metrics, the
GenAI labels, and account names only where the operator allows them."""

from __future__ import annotations

import dataclasses

import anthropic
import pytest

from dsl.model import RouterConfig, TelemetryConfig
from gateway.telemetry.labels import AccountLabels
from gateway.telemetry.metrics import AccountSample, GatewayMetrics
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import running_gateway
from tests.support.prometheus_text import get_text, series
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-test-1"


async def traffic(config: RouterConfig, fake: FakeAnthropic) -> str:
    """One request served after a 429 on the first account; the /metrics text afterwards."""
    fake.then(Step.rate_limited(retry_after=30))
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        await client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
        await client.close()
        _, _, text = await get_text(f"{gw.url}/metrics")
    return text


def label_values(text: str, label: str) -> set[str]:
    return {dict(labels)[label] for (_, labels) in series(text) if label in dict(labels)}


async def test_target_info_process_metrics_and_genai_labels(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    text = await traffic(config, fake)
    got = series(text)
    [target] = [dict(labels) for name, labels in got if name == "target_info"]
    assert target["service_name"] == "link-assistant-router"
    names = {name for name, _ in got}
    assert {
        "process_cpu_time_seconds_total",
        "process_memory_usage_bytes",
        "process_threads",
        "process_open_file_descriptors",
        "cpython_gc_collections_total",
    } <= names
    assert got[("process_memory_usage_bytes", frozenset())] > 1_000_000
    [labels] = [
        dict(labels)
        for name, labels in got
        if name == "gen_ai_server_request_duration_seconds_count" and ("route", "/v1/messages") in labels
    ]
    assert labels["gen_ai_operation_name"] == "chat"
    assert labels["gen_ai_request_model"] == MODEL
    assert labels["gen_ai_provider_name"] == "anthropic"
    # The seed's unlabelled counters are unchanged.
    assert got[("link_assistant_requests_total", frozenset())] == 1


@pytest.mark.parametrize(
    ("host", "setting", "shown"),
    [
        ("127.0.0.1", None, True),  # loopback listener: names shown by default
        ("0.0.0.0", None, False),  # public listener: hidden by default
        ("0.0.0.0", True, True),  # the operator allows them
        ("127.0.0.1", False, False),
    ],
)
async def test_account_names_only_where_allowed(
    config: RouterConfig, fake: FakeAnthropic, host: str, setting: bool | None, shown: bool
) -> None:
    config = dataclasses.replace(
        config,
        server=dataclasses.replace(config.server, host=host),
        telemetry=TelemetryConfig(account_labels=setting),
    )
    text = await traffic(config, fake)
    accounts = label_values(text, "account") - {""}
    expected = {"alpha", "beta"} if shown else {"account-1", "account-2"}
    assert accounts == expected
    assert ("alpha" in text) is shown and ("beta" in text) is shown


async def test_key_budget_gauge_follows_the_most_spent_key(config: RouterConfig, fake: FakeAnthropic) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        key = await gw.issue_key(max_requests=4)
        await gw.issue_key(max_requests=100)
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        for _ in range(3):
            await client.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
        await client.close()
        _, _, text = await get_text(f"{gw.url}/metrics")
    got = series(text)
    assert got[("link_assistant_key_budget_used_ratio", frozenset({("budget", "requests")}))] == 0.75
    assert got[("link_assistant_key_budget_used_ratio", frozenset({("budget", "tokens")}))] == 0


def test_refresh_and_reload_failures_are_counted() -> None:
    metrics = GatewayMetrics(account_labels=AccountLabels(False, ["alpha"]))
    metrics.watch_accounts(lambda: [AccountSample("alpha", "healthy", 0.0, refresh_failures=2)])
    metrics.watch_tls(lambda: 3)
    metrics.reload_failed("config")
    got = series(metrics.exposition().decode())
    refresh = "link_assistant_credential_refresh_failures_total"
    assert got[(refresh, frozenset({("account", "account-1")}))] == 2
    assert got[("link_assistant_reload_failures_total", frozenset({("part", "tls")}))] == 3
    assert got[("link_assistant_reload_failures_total", frozenset({("part", "config")}))] == 1
    metrics.shutdown()
