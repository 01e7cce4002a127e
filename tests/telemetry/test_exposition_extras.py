"""What /metrics shows beyond the request counters: target_info, process and runtime metrics, the
GenAI labels, and account names only where the operator allows them."""

from __future__ import annotations

import dataclasses

import anthropic
import pytest

from dsl.model import RouterConfig, TelemetryConfig
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
