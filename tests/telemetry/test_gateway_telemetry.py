"""Metrics, request ids and JSON access logs as a user of the running gateway sees them."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import shutil
import subprocess

import aiohttp
import anthropic
import openai
import pytest

from dsl.model import RouterConfig
from gateway.logging import JsonFormatter, RedactionFilter
from gateway.telemetry.metrics import METRICS
from gateway.telemetry.middleware import ACCESS_LOGGER
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import running_gateway
from tests.support.prometheus_text import get_text, series
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-test-1"


async def test_metrics_after_real_sdk_traffic(config: RouterConfig) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        key = await gw.issue_key(label="metrics")
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        await client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
        async with client.messages.stream(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            await stream.get_final_message()
        with pytest.raises(anthropic.AuthenticationError):
            bad = anthropic.AsyncAnthropic(base_url=gw.url, api_key="la_sk_not-a-jwt", max_retries=0)
            await bad.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
        await client.close()
        status, content_type, text = await get_text(f"{gw.url}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    got = series(text)
    assert got[("link_assistant_requests_total", frozenset())] == 3
    assert got[("link_assistant_errors_total", frozenset())] == 1
    assert got[("link_assistant_anthropic_messages_total", frozenset())] == 3
    assert got[("link_assistant_status_total", frozenset({("code", "200")}))] == 2
    assert got[("link_assistant_status_total", frozenset({("code", "401")}))] == 1
    assert sum(v for (name, _), v in got.items() if name == "link_assistant_account_calls_total") == 2
    ok = {k: v for k, v in got.items() if k[0] == "gen_ai_server_request_duration_seconds_count"}
    labels = {dict(k[1])["status_class"]: dict(k[1]) for k in ok}
    assert labels["2xx"]["route"] == "/v1/messages" and labels["2xx"]["model"] == MODEL
    assert sum(ok.values()) == 3
    ttft = [v for (name, _), v in got.items() if name == "gen_ai_server_time_to_first_token_seconds_count"]
    assert ttft == [1]  # only the streamed request
    tokens: dict[str, float] = {}
    for (name, labels), value in got.items():
        if name == "link_assistant_token_usage_total":
            kind = dict(labels)["gen_ai_token_type"]
            tokens[kind] = tokens.get(kind, 0) + value
    assert tokens == {"input": 24, "output": 14}  # two answers of 12 in / 7 out, summed over accounts
    assert got[("link_assistant_active_streams", frozenset())] == 0
    assert "la_sk_" not in text and key not in text and ACCOUNT_ENV["KEY_A"] not in text


async def test_v1_usage_keeps_the_seed_shape(config: RouterConfig) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        await client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
        await client.close()
        async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/v1/usage") as response:
            body = await response.json()
    seed_keys = {
        "requests_total",
        "errors_total",
        "bytes_in",
        "bytes_out",
        "openai_chat_completions",
        "openai_responses",
        "anthropic_messages",
        "tokens_issued",
        "tokens_revoked",
        "status_counts",
        "account_calls",
    }
    assert seed_keys <= set(body)
    assert body["requests_total"] == 1 and body["status_counts"] == {"200": 1}
    assert body["bytes_in"] > 0 and body["bytes_out"] > 0
    assert sum(body["account_calls"].values()) == 1


async def test_upstream_errors_and_budget_rejections_are_counted(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        fake.then(Step.overloaded())
        client = anthropic.AsyncAnthropic(
            base_url=gw.url, api_key=await gw.issue_key(max_requests=1), max_retries=0
        )
        await client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(anthropic.RateLimitError):
            await client.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
        await client.close()
        _, _, text = await get_text(f"{gw.url}/metrics")
    got = series(text)
    errors = {dict(k[1])["kind"]: v for k, v in got.items() if k[0] == "link_assistant_upstream_errors_total"}
    assert errors == {"overloaded": 1}
    assert got[("link_assistant_budget_rejections_total", frozenset({("reason", "request_budget")}))] == 1


async def test_request_id_is_returned_and_the_upstream_one_passes_through(config: RouterConfig) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        raw = await client.messages.with_raw_response.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
        await client.close()
        assert raw.headers["request-id"] == raw.headers["x-request-id"] == "req_fake"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{gw.url}/v1/messages", json={}) as refused:
                assert refused.status == 401
                generated = refused.headers["x-request-id"]
                assert generated.startswith("req_") and refused.headers["request-id"] == generated
            async with http.get(f"{gw.url}/health", headers={"x-request-id": "trace-123"}) as health:
                assert health.headers["x-request-id"] == "trace-123"
            async with http.get(f"{gw.url}/health", headers={"x-request-id": "bad id\twith junk"}) as health:
                assert health.headers["x-request-id"].startswith("req_")


def json_log_handler(stream: io.StringIO) -> logging.Handler:
    """The handler `serve --json-logs` installs (gateway.logging), writing into `stream`."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter())
    return handler


async def test_json_access_log_one_line_per_request(config: RouterConfig) -> None:
    stream = io.StringIO()
    handler = json_log_handler(stream)
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    json_config = dataclasses.replace(config, server=dataclasses.replace(config.server, json_logs=True))
    try:
        async with running_gateway(json_config, ACCOUNT_ENV) as gw:
            key = await gw.issue_key()
            client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
            raw = await client.messages.with_raw_response.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
            async with client.messages.stream(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            ) as streamed:
                await streamed.get_final_message()
            await client.close()
            async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/health?key={key}") as _:
                pass
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3  # one line per request, nothing else on this logger
    message, stream_record = [r for r in records if r["route"] == "/v1/messages"]
    assert stream_record["stream"] is True and stream_record["ttft_ms"] > 0
    assert (stream_record["input_tokens"], stream_record["output_tokens"]) == (12, 7)
    assert message["stream"] is False and "ttft_ms" not in message
    assert message["request_id"] == raw.headers["x-request-id"] and message["level"] == "INFO"
    assert message["status"] == 200 and message["model"] == MODEL and message["account"] in {"alpha", "beta"}
    assert message["input_tokens"] == 12 and message["output_tokens"] == 7 and message["latency_ms"] > 0
    assert any(r["route"] == "/health" and r["status"] == 200 for r in records)
    assert all(key not in line and "la_sk_" not in line for line in lines)


async def test_json_logs_off_means_no_lines(config: RouterConfig) -> None:
    stream = io.StringIO()
    handler = json_log_handler(stream)
    logging.getLogger(ACCESS_LOGGER).addHandler(handler)
    try:
        async with running_gateway(config, ACCOUNT_ENV) as gw:
            await get_text(f"{gw.url}/health")
    finally:
        logging.getLogger(ACCESS_LOGGER).removeHandler(handler)
    assert stream.getvalue() == ""


async def test_disabled_metrics_hide_the_routes(config: RouterConfig) -> None:
    off = dataclasses.replace(config, features=dataclasses.replace(config.features, metrics=False))
    async with running_gateway(off, ACCOUNT_ENV) as gw:
        for path in ("/metrics", "/v1/usage"):
            async with aiohttp.ClientSession() as http, http.get(gw.url + path) as response:
                assert response.status == 404
                body = await response.json()
                assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
                assert response.headers["x-request-id"]
        assert METRICS not in gw.app


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")
async def test_promtool_accepts_the_gateways_exposition(config: RouterConfig, fake: FakeAnthropic) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        fake.then(Step.rate_limited(retry_after=120))
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        async with client.messages.stream(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            await stream.get_final_message()
        await client.close()
        _, _, text = await get_text(f"{gw.url}/metrics")
    assert (
        "link_assistant_account_state" in text and "link_assistant_account_cooldown_remaining_seconds" in text
    )
    done = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_active_streams_gauge_while_a_stream_is_open(config: RouterConfig, fake: FakeAnthropic) -> None:
    fake.then(Step.stall(after_events=5, seconds=1.0))  # the gateway commits after the first delta
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        async with client.messages.stream(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            assert stream.response.headers["x-request-id"] == "req_fake"
            _, _, during = await get_text(f"{gw.url}/metrics")
            await stream.get_final_message()
        await client.close()
        _, _, after = await get_text(f"{gw.url}/metrics")
    assert series(during)[("link_assistant_active_streams", frozenset())] == 1
    assert series(after)[("link_assistant_active_streams", frozenset())] == 0


async def test_openai_surfaces_have_their_own_seed_counters(config: RouterConfig) -> None:

    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=await gw.issue_key(), max_retries=0)
        chat = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
        assert chat.choices[0].message.content
        response = await client.responses.create(model=MODEL, input="Hi")
        assert response.output_text
        await client.close()
        async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/v1/usage") as answer:
            usage = await answer.json()
        _, _, text = await get_text(f"{gw.url}/metrics")
    assert (usage["openai_chat_completions"], usage["openai_responses"], usage["anthropic_messages"]) == (
        1,
        1,
        0,
    )
    assert usage["requests_total"] == 2 and sum(usage["account_calls"].values()) == 2
    routes = {
        dict(k[1])["route"] for k in series(text) if k[0] == "gen_ai_server_request_duration_seconds_count"
    }
    assert routes == {"/v1/chat/completions", "/v1/responses", "/v1/usage"}


async def test_time_to_first_token_is_the_first_text_not_the_headers(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    """The upstream stalls 0.6 s before the first text delta of one stream and after it in another:
    only the first stall is time to first token; both count in the request duration."""
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        for label, first_delta_frame in (("late", 3), ("early", 4)):
            fake.then(Step.stall(after_events=first_delta_frame, seconds=0.6))
            async with client.messages.stream(
                model=label, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            ) as stream:
                await stream.get_final_message()
        await client.close()
        _, _, text = await get_text(f"{gw.url}/metrics")
    got = series(text)

    def total(metric: str, model: str) -> float:
        return sum(v for (name, tags), v in got.items() if name == metric and ("model", model) in tags)

    assert total("gen_ai_server_time_to_first_token_seconds_sum", "late") >= 0.55
    assert total("gen_ai_server_time_to_first_token_seconds_sum", "early") < 0.4  # generous: loaded CI
    assert total("gen_ai_server_request_duration_seconds_sum", "early") >= 0.55


async def test_openai_streams_come_and_go_on_the_active_streams_gauge(config: RouterConfig) -> None:
    """Chat and Responses streams count like Messages streams: one up while open, back to 0 after
    (the routes once marked the request streaming before the gauge saw it start, leaving it at -2)."""
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        async with openai.AsyncOpenAI(
            base_url=f"{gw.url}/v1", api_key=await gw.issue_key(), max_retries=0
        ) as client:
            chat = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True
            )
            async for _ in chat:
                pass
            responses = await client.responses.create(model=MODEL, input="Hi", stream=True)
            async for _ in responses:
                pass
        _, _, after = await get_text(f"{gw.url}/metrics")
    assert series(after)[("link_assistant_active_streams", frozenset())] == 0
