"""GatewayMetrics through the OpenTelemetry SDK (InMemoryMetricReader) and the Prometheus text."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.telemetry.labels import Surface
from gateway.telemetry.metrics import AccountSample, GatewayMetrics
from gateway.telemetry.request_info import RequestInfo


def points(metrics: GatewayMetrics) -> dict[str, list[Any]]:
    assert metrics.memory_reader is not None
    data = metrics.memory_reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: list(metric.data.data_points)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }


def request(
    route: str = "/v1/messages", surface: Surface | None = Surface.ANTHROPIC, **kw: Any
) -> RequestInfo:
    return RequestInfo("req_1", route, surface, **kw)


def samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_seed_counters_and_usage_snapshot() -> None:
    metrics = GatewayMetrics(in_memory=True)
    metrics.observe(request(account="primary"), 200, 20, 100)
    metrics.observe(request("/v1/chat/completions", Surface.OPENAI_CHAT), 200, 5, 5)
    metrics.observe(request("/v1/responses", Surface.OPENAI_RESPONSES, account="account-1"), 500, 0, 0)
    metrics.observe(request("/health", None), 200, 0, 2)  # not an API surface: no seed counters
    metrics.token_issued()
    got = points(metrics)
    assert got["link_assistant_requests"][0].value == 3
    assert got["link_assistant_errors"][0].value == 1
    assert got["link_assistant_tokens_issued"][0].value == 1
    by_code = {p.attributes["code"]: p.value for p in got["link_assistant_status"]}
    assert by_code == {"200": 2, "500": 1}
    assert metrics.usage.snapshot() == {
        "requests_total": 3,
        "errors_total": 1,
        "bytes_in": 25,
        "bytes_out": 105,
        "openai_chat_completions": 1,
        "openai_responses": 1,
        "anthropic_messages": 1,
        "tokens_issued": 1,
        "tokens_revoked": 0,
        "status_counts": {"200": 2, "500": 1},
        "account_calls": {"account-1": 1, "primary": 1},
        "token_usage": {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0},
    }


def test_prometheus_names_keep_the_seed_contract() -> None:
    metrics = GatewayMetrics()
    metrics.observe(request(account="primary"), 200, 1, 1)
    got = samples(metrics)
    for name in (
        "requests",
        "errors",
        "bytes_in",
        "bytes_out",
        "openai_chat_completions",
        "openai_responses",
        "anthropic_messages",
        "tokens_issued",
        "tokens_revoked",
    ):
        assert (f"link_assistant_{name}_total", ()) in got, name
    assert got[("link_assistant_status_total", (("code", "200"),))] == 1
    assert got[("link_assistant_account_calls_total", (("account", "primary"),))] == 1


def test_duration_ttft_and_tokens_by_type() -> None:
    metrics = GatewayMetrics(in_memory=True)
    info = request(account="primary", model="claude-sonnet-4-5", streaming=True)
    info.note_counts(input_tokens=11, output_tokens=2, cache_read=7, cache_write=3)
    info.note_counts(input_tokens=0, output_tokens=9, cache_read=0, cache_write=0)  # counts are cumulative
    info.first_token_s = 0.05
    metrics.observe(info, 200, 0, 0)
    got = points(metrics)
    (duration,) = got["gen_ai.server.request.duration"]
    assert duration.count == 1
    assert dict(duration.attributes) == {
        "route": "/v1/messages",
        "model": "claude-sonnet-4-5",
        "account": "primary",
        "status_class": "2xx",
    }
    (ttft,) = got["gen_ai.server.time_to_first_token"]
    assert ttft.sum == pytest.approx(0.05)
    tokens = {p.attributes["gen_ai.token.type"]: p.value for p in got["link_assistant_token_usage"]}
    assert tokens == {"input": 11, "output": 9, "cache_read": 7, "cache_write": 3}
    per_request = {
        p.attributes["gen_ai.token.type"]: (p.count, p.sum) for p in got["gen_ai.client.token.usage"]
    }
    assert per_request == {"input": (1, 11), "output": (1, 9), "cache_read": (1, 7), "cache_write": (1, 3)}
    assert metrics.usage.snapshot()["token_usage"] == tokens


def test_non_streaming_requests_have_no_ttft() -> None:
    metrics = GatewayMetrics(in_memory=True)
    metrics.observe(request(headers_s=0.01), 200, 0, 0)
    assert "gen_ai.server.time_to_first_token" not in points(metrics)


def test_upstream_errors_rejections_streams_and_accounts() -> None:
    metrics = GatewayMetrics()
    info = request(account="b")
    info.note_upstream_error("a", "rate_limited")
    info.note_upstream_error("a", "rate_limited")
    metrics.observe(info, 200, 0, 0)
    metrics.observe(request(rejection="budget"), 429, 0, 0)
    metrics.stream_started()
    metrics.watch_accounts(
        lambda: [AccountSample("a", "cooling_down", 42.5), AccountSample("b", "healthy", 0)]
    )
    got = samples(metrics)
    assert got[("link_assistant_upstream_errors_total", (("account", "a"), ("kind", "rate_limited")))] == 2
    assert got[("link_assistant_budget_rejections_total", (("reason", "budget"),))] == 1
    assert got[("link_assistant_active_streams", ())] == 1
    assert got[("link_assistant_account_state", (("account", "a"), ("state", "cooling_down")))] == 1
    assert got[("link_assistant_account_state", (("account", "a"), ("state", "healthy")))] == 0
    assert got[("link_assistant_account_cooldown_remaining_seconds", (("account", "a"),))] == 42.5


def test_labels_never_carry_token_ids_or_unbounded_models() -> None:
    metrics = GatewayMetrics(model_limit=3)
    for i in range(50):
        metrics.observe(request(model=f"model-{i}"), 200, 0, 0)
    metrics.observe(request("other", None, model="la_sk_eyJhbGciOi secret"), 401, 0, 0)
    text = metrics.exposition().decode()
    assert "la_sk_" not in text and "secret" not in text
    models = {labels for (name, labels) in samples(metrics) if name.endswith("_count")}
    assert len({dict(labels)["model"] for labels in models}) <= 4


def test_one_apps_metrics_do_not_leak_into_another() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.observe(request(), 200, 0, 0)
    assert samples(second)[("link_assistant_requests_total", ())] == 0


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")
def test_promtool_accepts_the_exposition() -> None:
    metrics = GatewayMetrics()
    info = request(account="primary", model="claude-x", streaming=True, headers_s=0.01)
    info.note_counts(input_tokens=1, output_tokens=2, cache_read=0, cache_write=0)
    info.note_upstream_error("primary", "overloaded")
    metrics.observe(info, 200, 1, 1)
    metrics.watch_accounts(lambda: [AccountSample("primary", "healthy", 0)])
    done = subprocess.run(
        ["promtool", "check", "metrics"], input=metrics.exposition(), capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_usage_feed_pushes_events_and_counts_drops() -> None:
    metrics = GatewayMetrics()
    metrics.feed = type(metrics.feed)(keep=2)
    stream = metrics.feed.watch()
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # let the watcher subscribe
    metrics.observe(request(account="primary", model="m"), 200, 0, 0)
    _, event, dropped = await asyncio.wait_for(first, 1)
    assert (event.route, event.account, event.status, dropped) == ("/v1/messages", "primary", 200, 0)
    for _ in range(5):
        metrics.observe(request(), 201, 0, 0)
    _, _, dropped = await asyncio.wait_for(anext(stream), 1)
    _, _, dropped2 = await asyncio.wait_for(anext(stream), 1)
    assert dropped + dropped2 == 3
    await stream.aclose()
    assert not metrics.feed.watching
