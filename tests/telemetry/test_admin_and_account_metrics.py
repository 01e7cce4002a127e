"""What admins do and what the account pool goes through, as /metrics and /v1/usage show it:
keys issued and revoked over HTTP and gRPC count in the seed's counters; a rate-limited account
shows as cooling down with its remaining seconds, a drained one as drained, a reset one healthy."""

from __future__ import annotations

import aiohttp
import anthropic

from dsl.model import RouterConfig
from link_assistant_router_admin.v1 import accounts_pb2, accounts_pb2_grpc, tokens_pb2, tokens_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.prometheus_text import get_text, series
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-test-1"


async def test_keys_issued_and_revoked_over_http_and_grpc_are_counted(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel), aiohttp.ClientSession() as http:
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        async with http.post(f"{gw.url}/api/tokens", json={"label": "over-http"}) as response:
            over_http = (await response.json())["id"]
        over_grpc = (await tokens.CreateToken(tokens_pb2.CreateTokenRequest(label="over-grpc"))).token.uid
        await tokens.CreateToken(tokens_pb2.CreateTokenRequest(label="kept"))
        async with http.post(f"{gw.url}/api/tokens/revoke", json={"id": over_grpc}) as response:
            assert response.status == 200
        await tokens.RevokeToken(tokens_pb2.RevokeTokenRequest(name=f"tokens/{over_http}"))
        async with http.post(f"{gw.url}/api/tokens/revoke", json={"id": "no-such-id"}) as response:
            assert response.status == 404  # a failed revoke is not a revocation
        async with http.get(f"{gw.url}/v1/usage") as response:
            usage = await response.json()
        _, _, text = await get_text(f"{gw.url}/metrics")
    assert (usage["tokens_issued"], usage["tokens_revoked"]) == (3, 2)
    got = series(text)
    assert got[("link_assistant_tokens_issued_total", frozenset())] == 3
    assert got[("link_assistant_tokens_revoked_total", frozenset())] == 2


def account_states(text: str) -> dict[str, str]:
    """account -> the one state whose gauge is 1."""
    got = series(text)
    current = {
        dict(labels)["account"]: dict(labels)["state"]
        for (name, labels), value in got.items()
        if name == "link_assistant_account_state" and value == 1
    }
    assert len(current) == len({dict(k[1])["account"] for k in got if k[0] == "link_assistant_account_state"})
    return current


def cooldowns(text: str) -> dict[str, float]:
    return {
        dict(labels)["account"]: value
        for (name, labels), value in series(text).items()
        if name == "link_assistant_account_cooldown_remaining_seconds"
    }


async def test_account_state_and_cooldown_gauges_follow_the_pool(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        _, _, before = await get_text(f"{gw.url}/metrics")
        assert account_states(before) == {"alpha": "healthy", "beta": "healthy"}
        assert cooldowns(before) == {"alpha": 0, "beta": 0}

        fake.then(Step.rate_limited(retry_after=300))
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        await client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])
        await client.close()
        _, _, limited = await get_text(f"{gw.url}/metrics")
        states = account_states(limited)
        [cooling] = [name for name, state in states.items() if state == "cooling_down"]
        [other] = [name for name in states if name != cooling]
        assert states[other] == "healthy"
        assert 200 < cooldowns(limited)[cooling] <= 300 and cooldowns(limited)[other] == 0

        accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        reset = accounts_pb2.ResetAccountCooldownRequest(name=f"accounts/{cooling}")
        await accounts.ResetAccountCooldown(reset)
        await accounts.DrainAccount(accounts_pb2.DrainAccountRequest(name=f"accounts/{other}"))
        _, _, after = await get_text(f"{gw.url}/metrics")
    assert account_states(after) == {cooling: "healthy", other: "drained"}
    assert cooldowns(after) == {cooling: 0, other: 0}
