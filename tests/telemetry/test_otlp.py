"""OTLP push to a real gRPC receiver: a server span per request with GenAI and HTTP attributes, a
client span per upstream attempt (a retry shows as a second one), W3C traceparent from the client
through to the upstream, sampling, and metrics pushed with the resource and their labels."""

from __future__ import annotations

import dataclasses
import json

import anthropic

from dsl.model import RouterConfig, TelemetryConfig
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import running_gateway
from tests.support.otlp_receiver import otlp_receiver
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-test-1"
PROMPT = "a secret prompt the collector must never see"
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


def with_telemetry(config: RouterConfig, **settings: object) -> RouterConfig:
    return dataclasses.replace(config, telemetry=TelemetryConfig(**settings))  # type: ignore[arg-type]


async def ask(url: str, key: str, headers: dict[str, str] | None = None) -> None:
    client = anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0, default_headers=headers)
    try:
        messages = [{"role": "user", "content": PROMPT}]
        await client.messages.create(model=MODEL, max_tokens=8, messages=messages)  # type: ignore[arg-type]
    finally:
        await client.close()


async def test_spans_link_client_gateway_and_each_upstream_attempt(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    async with otlp_receiver() as collector:
        traced = with_telemetry(config, otlp_endpoint=collector.url, sampling=1.0)
        fake.then(Step.rate_limited(retry_after=30))  # the first account answers 429; the other serves
        async with running_gateway(traced, ACCOUNT_ENV) as gw:
            key = await gw.issue_key()
            await ask(gw.url, key, {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
        # The gateway flushes its spans when it stops.
    spans = [s for s in collector.spans if s.trace_id == CLIENT_TRACE]
    [server] = [s for s in spans if s.is_server and s.attributes.get("http.route") == "/v1/messages"]
    assert server.parent_span_id == CLIENT_SPAN
    assert server.name == "POST /v1/messages"
    assert server.resource["service.name"] == "link-assistant-router"
    attrs = server.attributes
    assert attrs["http.request.method"] == "POST" and attrs["http.response.status_code"] == 200
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.usage.input_tokens"] > 0 and attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["link_assistant.upstream_failures"] == 1

    attempts = [s for s in spans if s.is_client]
    assert [s.parent_span_id for s in attempts] == [server.span_id] * 2
    first, second = sorted(attempts, key=lambda s: s.attributes.get("http.request.resend_count", 0))
    assert first.attributes["http.response.status_code"] == 429 and first.attributes["error.type"] == "429"
    assert second.attributes["http.response.status_code"] == 200
    assert second.attributes["http.request.resend_count"] == 1
    assert second.attributes["url.full"] == f"{fake.url}/v1/messages"

    # Each upstream request carried the trace with its own attempt's span as parent.
    sent = [r.headers.get("traceparent", "") for r in fake.messages_requests()]
    assert sent == [f"00-{CLIENT_TRACE}-{first.span_id}-01", f"00-{CLIENT_TRACE}-{second.span_id}-01"]

    exported = json.dumps([dataclasses.asdict(s) for s in collector.spans])
    for secret in (PROMPT, key, *ACCOUNT_ENV.values()):
        assert secret not in exported


async def test_sampling_ratio_zero_exports_no_spans_but_still_propagates(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    async with otlp_receiver() as collector:
        untraced = with_telemetry(config, otlp_endpoint=collector.url, sampling=0.0)
        async with running_gateway(untraced, ACCOUNT_ENV) as gw:
            await ask(gw.url, await gw.issue_key())
    assert collector.spans == []
    [seen] = fake.messages_requests()
    version, trace_id, span_id, flags = seen.headers["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1 == 0  # not sampled
    assert len(trace_id) == 32 and len(span_id) == 16


async def test_metrics_pushed_with_otel_env_and_genai_labels(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    async with otlp_receiver() as collector:
        env = {
            **ACCOUNT_ENV,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_SERVICE_NAME": "router-under-test",
        }
        async with running_gateway(config, env) as gw:
            await ask(gw.url, await gw.issue_key())
        # Shutdown pushes a last collection.
    assert collector.spans == []
    by_name: dict[str, list[object]] = {}
    for point in collector.points:
        by_name.setdefault(point.metric, []).append(point)
        assert point.resource["service.name"] == "router-under-test"
    # The last push holds the final (cumulative) values.
    duration = [
        p
        for p in collector.points
        if p.metric == "gen_ai.server.request.duration" and p.attributes["route"] == "/v1/messages"
    ][-1]
    assert duration.attributes["gen_ai.operation.name"] == "chat"
    assert duration.attributes["gen_ai.request.model"] == MODEL
    assert duration.attributes["gen_ai.provider.name"] == "anthropic"
    assert "error.type" not in duration.attributes
    requests = [p for p in collector.points if p.metric == "link_assistant_requests"][-1]
    assert requests.value == 1
    assert {"process.cpu.time", "process.memory.usage", "gen_ai.client.token.usage"} <= set(by_name)


async def test_no_endpoint_means_no_tracing_and_the_client_traceparent_passes_untouched(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    incoming = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        await ask(gw.url, await gw.issue_key(), {"traceparent": incoming})
    [seen] = fake.messages_requests()
    assert seen.headers["traceparent"] == incoming
