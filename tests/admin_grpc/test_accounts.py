"""Accounts over gRPC act on the live pool: a drained account gets no traffic and shows as
drained at /v1/accounts; resume and cooldown reset bring it back."""

from __future__ import annotations

import aiohttp
import anthropic
import grpc
import pytest

from dsl.model import RouterConfig
from link_assistant_router_admin.v1 import accounts_pb2 as pb
from link_assistant_router_admin.v1 import accounts_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-test-1"


async def ask(client: anthropic.AsyncAnthropic) -> None:
    await client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])


async def http_accounts(url: str) -> dict[str, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/v1/accounts") as response:
        assert response.status == 200
        return {a["name"]: a for a in (await response.json())["accounts"]}


async def test_drain_is_seen_by_the_proxy_and_v1_accounts(config: RouterConfig, fake: FakeAnthropic) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        listed = await accounts.ListAccounts(pb.ListAccountsRequest())
        assert [a.name for a in listed.accounts] == ["accounts/alpha", "accounts/beta"]
        assert all(
            a.state == pb.ACCOUNT_STATE_HEALTHY and a.credential_kind == "api_key" for a in listed.accounts
        )

        drained = await accounts.DrainAccount(pb.DrainAccountRequest(name="accounts/alpha"))
        assert drained.state == pb.ACCOUNT_STATE_DRAINED and not drained.healthy
        assert (await http_accounts(gw.url))["alpha"]["state"] == "drained"

        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        for _ in range(4):
            await ask(client)
        assert {r.headers["x-api-key"] for r in fake.messages_requests()} == {ACCOUNT_ENV["KEY_B"]}

        resumed = await accounts.ResumeAccount(pb.ResumeAccountRequest(name="accounts/alpha"))
        assert resumed.state == pb.ACCOUNT_STATE_HEALTHY
        fake.requests.clear()
        for _ in range(4):
            await ask(client)
        await client.close()
        assert {r.headers["x-api-key"] for r in fake.messages_requests()} == set(ACCOUNT_ENV.values())


async def test_reset_cooldown_after_a_429(config: RouterConfig, fake: FakeAnthropic) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        fake.then(Step.rate_limited(retry_after=600))
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        await ask(client)  # the first account is rate limited; the gateway retries on the other
        await client.close()
        states = {a.name: a for a in (await accounts.ListAccounts(pb.ListAccountsRequest())).accounts}
        limited = next(a for a in states.values() if a.state == pb.ACCOUNT_STATE_COOLING_DOWN)
        assert limited.cooldown_remaining_seconds > 500 and limited.cooldown_reason == "rate_limit"
        reset = await accounts.ResetAccountCooldown(pb.ResetAccountCooldownRequest(name=limited.name))
        assert reset.state == pb.ACCOUNT_STATE_HEALTHY and reset.cooldown_remaining_seconds == 0
        shown = (await http_accounts(gw.url))[limited.name.removeprefix("accounts/")]
        assert shown["cooldown_remaining_seconds"] is None


async def test_unknown_account_is_not_found(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (_gw, channel):
        accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        for call in (
            accounts.GetAccount(pb.GetAccountRequest(name="accounts/ghost")),
            accounts.DrainAccount(pb.DrainAccountRequest(name="accounts/ghost")),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await call
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
            assert "ghost" in (missing.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await accounts.ResumeAccount(pb.ResumeAccountRequest(name=""))
        assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
