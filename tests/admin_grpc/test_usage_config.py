"""Usage over gRPC matches /v1/usage and streams per-request events; config validation and the
effective config (secrets only as references)."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
import anthropic
import grpc
import pytest

from dsl.model import AdminConfig, RouterConfig, SecretRef
from gateway.telemetry.metrics import METRICS
from link_assistant_router_admin.v1 import config_pb2, config_pb2_grpc, usage_pb2, usage_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-test-1"


async def ask(url: str, key: str) -> None:
    client = anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0)
    try:
        await client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
    finally:
        await client.close()


async def test_usage_snapshot_matches_http_and_watch_streams_events(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        usage = usage_pb2_grpc.UsageServiceStub(channel)
        key = await gw.issue_key(label="watcher")
        watch = usage.WatchUsage(usage_pb2.WatchUsageRequest())
        first = asyncio.ensure_future(watch.read())
        # The watcher subscribes once the call reaches the server; wait until it has.
        for _ in range(200):
            if gw.app[METRICS].feed.watching:
                break
            await asyncio.sleep(0.01)
        await ask(gw.url, key)
        event = await asyncio.wait_for(first, 5)
        assert (event.route, event.status, event.model) == ("/v1/messages", 200, MODEL)
        assert event.account in {"alpha", "beta"}
        assert (event.input_tokens, event.output_tokens) == (12, 7)
        assert event.request_id and event.duration_seconds > 0
        watch.cancel()

        snapshot = await usage.GetUsage(usage_pb2.GetUsageRequest())
        async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/v1/usage") as response:
            body = await response.json()
        assert snapshot.requests_total == body["requests_total"] == 1
        assert snapshot.anthropic_messages == 1
        assert dict(snapshot.status_counts) == body["status_counts"] == {"200": 1}
        assert dict(snapshot.account_calls) == body["account_calls"]
        assert dict(snapshot.token_usage)["input"] == 12
    # The cancelled watcher was unsubscribed (no leak of queues per finished watch).
    assert not gw.app[METRICS].feed.watching


async def test_usage_with_metrics_disabled_is_failed_precondition(config: RouterConfig) -> None:
    off = dataclasses.replace(config, features=dataclasses.replace(config.features, metrics=False))
    async with grpc_gateway(off, ACCOUNT_ENV) as (_gw, channel):
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await usage_pb2_grpc.UsageServiceStub(channel).GetUsage(usage_pb2.GetUsageRequest())
        assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION


BAD_CONFIG = """server:
  port not-a-port
routing:
  strategy sideways
"""


async def test_validate_config_reports_every_problem_with_line_and_column(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (_gw, channel):
        configs = config_pb2_grpc.ConfigServiceStub(channel)
        bad = await configs.ValidateConfig(
            config_pb2.ValidateConfigRequest(text=BAD_CONFIG, filename="r.lino")
        )
        assert not bad.valid
        assert [p.line for p in bad.problems] == [2, 4]
        assert all(p.column > 0 and p.filename == "r.lino" and p.message for p in bad.problems)
        good = await configs.ValidateConfig(
            config_pb2.ValidateConfigRequest(text="server:\n  port 8081\nrouting:\n  strategy least-used\n")
        )
        assert good.valid and not good.problems
        syntax = await configs.ValidateConfig(
            config_pb2.ValidateConfigRequest(text="server:\n  port (8080\n")
        )
        assert not syntax.valid and syntax.problems[0].line >= 2


async def test_effective_config_shows_secret_references_not_values(config: RouterConfig) -> None:
    admin = AdminConfig(
        token_secret=SecretRef(env="TOKEN_SECRET"), admin_key=SecretRef(value="admin-inline-xyz")
    )
    with_secret = dataclasses.replace(config, admin=admin)
    async with grpc_gateway(with_secret, {**ACCOUNT_ENV, "TOKEN_SECRET": "token-secret-value-abc"}) as (
        _gw,
        channel,
    ):
        configs = config_pb2_grpc.ConfigServiceStub(channel)
        shown = await configs.GetEffectiveConfig(
            config_pb2.GetEffectiveConfigRequest(), metadata=(("authorization", "Bearer admin-inline-xyz"),)
        )
    rows = json.loads(shown.json)
    assert rows["admin.token_secret"] == "env:TOKEN_SECRET"
    assert rows["accounts.alpha.api_key"] == "env:KEY_A"
    for secret in ("admin-inline-xyz", "token-secret-value-abc", *ACCOUNT_ENV.values()):
        assert secret not in shown.json


async def test_watch_filters_errors_only(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        usage = usage_pb2_grpc.UsageServiceStub(channel)
        watch = usage.WatchUsage(usage_pb2.WatchUsageRequest(errors_only=True, route="/v1/messages"))
        first = asyncio.ensure_future(watch.read())
        for _ in range(200):
            if gw.app[METRICS].feed.watching:
                break
            await asyncio.sleep(0.01)
        await ask(gw.url, await gw.issue_key())  # 200: filtered out
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{gw.url}/v1/usage"):  # another route: filtered out
                pass
            async with http.post(
                f"{gw.url}/v1/messages", json={}, headers={"x-api-key": "la_sk_bad"}
            ) as refused:
                assert refused.status == 401
        event = await asyncio.wait_for(first, 5)
        assert (event.route, event.status, event.account) == ("/v1/messages", 401, "")
        watch.cancel()


async def test_validating_a_large_config_does_not_stall_the_proxy(config: RouterConfig) -> None:
    """ValidateConfig of a ~1 MB document parses for about a second: /health keeps answering."""
    account = "  acct{0}:\n    api-key-file /run/k{0}\n    priority 1\n"
    text = "accounts:\n" + "".join(account.format(i) for i in range(17000))
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel), aiohttp.ClientSession() as http:
        configs = config_pb2_grpc.ConfigServiceStub(channel)
        request = config_pb2.ValidateConfigRequest(text=text)
        validation = asyncio.ensure_future(configs.ValidateConfig(request))
        answered_meanwhile = 0
        for _ in range(2000):  # bounded: ends when the validation does
            if validation.done():
                break
            async with http.get(f"{gw.url}/health") as response:
                assert response.status == 200
            if not validation.done():
                answered_meanwhile += 1
            await asyncio.sleep(0.005)
        result = await asyncio.wait_for(validation, 60)
    assert result.valid, list(result.problems)[:3]
    assert answered_meanwhile >= 10, answered_meanwhile  # blocked loop: at most the one in flight
