"""Shared token state in a real redis-server: two gateways behave as one."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path

import aiohttp
import anthropic
import pytest

from dsl.model import RedisConfig, SecretRef
from gateway.errors import GatewayError
from gateway.tokens import jwt_codec
from gateway.tokens.jwt_codec import Claims
from gateway.tokens.records import TokenRecord
from gateway.tokens.redisstore import REOPEN_AFTER_SECONDS, RedisTokenStore, from_hash, to_hash
from gateway.tokens.service import TokenService
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway
from tests.support.redis_server import free_port, redis_server

from .helpers import SECRET, FakeClock, bearer, cli_env

MODEL = "claude-test-1"


def redis_config(fake: FakeAnthropic, data_dir: Path, claude_home: Path):  # type: ignore[no-untyped-def]
    base = gateway_config(fake.url, data_dir, claude_home)
    return dataclasses.replace(base, redis=RedisConfig(url=SecretRef(env="REDIS_URL")))


async def test_two_gateways_share_one_budget_and_one_revocation_list(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with redis_server(tmp_path / "redis") as url:
        env = {"REDIS_URL": url}
        async with (
            running_gateway(redis_config(fake, tmp_path / "a", claude_home), env) as gw_a,
            running_gateway(redis_config(fake, tmp_path / "b", claude_home), env) as gw_b,
            aiohttp.ClientSession() as http,
        ):
            async with http.post(f"{gw_a.url}/api/tokens", json={"label": "shared", "max_requests": 50}) as r:
                key = (await r.json())["token"]
            clients = [
                anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0) for gw in (gw_a, gw_b)
            ]
            results = await asyncio.gather(
                *(
                    clients[i % 2].messages.create(
                        model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
                    )
                    for i in range(100)
                ),
                return_exceptions=True,
            )
            assert sum(isinstance(r, anthropic.types.Message) for r in results) == 50
            assert sum(isinstance(r, anthropic.RateLimitError) for r in results) == 50
            assert len(fake.messages_requests()) == 50

            async with http.post(f"{gw_b.url}/api/tokens", json={"label": "revoke me"}) as r:
                other = await r.json()
            victim = anthropic.AsyncAnthropic(base_url=gw_a.url, api_key=other["token"], max_retries=0)
            await victim.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "a"}]
            )
            async with http.post(f"{gw_b.url}/api/tokens/revoke", json={"id": other["id"]}) as r:
                assert r.status == 200
            with pytest.raises(anthropic.PermissionDeniedError):  # on the other replica, at once
                await victim.messages.create(
                    model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "b"}]
                )

            deadline = time.monotonic() + 1.0  # listings follow through the change channel
            while True:
                async with http.get(f"{gw_a.url}/api/tokens/list") as r:
                    rows = {row["id"]: row for row in (await r.json())["data"]}
                if rows.get(other["id"], {}).get("revoked"):
                    break
                assert time.monotonic() < deadline, "replica A's listing did not catch up"
                await asyncio.sleep(0.05)
            for client in (*clients, victim):
                await client.close()
        assert not list((tmp_path / "a").glob("tokens.*")), "with Redis no token files are written"


async def test_rate_limit_token_budget_and_expiry_are_shared(tmp_path: Path) -> None:
    async with redis_server(tmp_path / "redis") as url:
        clock = FakeClock()
        stores = [RedisTokenStore(url, "u:", refresh_interval=0.2) for _ in range(2)]
        for store in stores:
            await store.open()
        a, b = (TokenService(store, SECRET, clock=clock) for store in stores)
        try:
            limited = await a.issue(rate_limit_per_minute=3)
            await a.authorize(bearer(limited.token))
            await b.authorize(bearer(limited.token))
            await a.authorize(bearer(limited.token))
            with pytest.raises(GatewayError) as rate:
                await b.authorize(bearer(limited.token))
            assert (rate.value.status, rate.value.headers) == (429, {"retry-after": "60"})

            budget = await b.issue(max_tokens=100)
            await a.authorize(bearer(budget.token))
            await a.record_usage(budget.record.id, 70, 30)
            with pytest.raises(GatewayError) as spent:
                await b.authorize(bearer(budget.token))
            assert spent.value.message == "Token has reached its token limit"
            assert (await b.introspect(bearer(budget.token))).used_tokens == 100

            short = await a.issue(ttl_hours=24)
            await b.authorize(bearer(short.token))
            await a.expire(short.record.id)
            with pytest.raises(GatewayError) as expired:
                await b.authorize(bearer(short.token))
            assert (expired.value.status, expired.value.message) == (401, "Token has expired")
        finally:
            for store in stores:
                await store.close()
        reopened = RedisTokenStore(url, "u:")
        await reopened.open()
        assert {r.id for r in reopened.records()} == {limited.record.id, budget.record.id, short.record.id}
        await reopened.close()


async def test_an_unreachable_redis_fails_requests_cleanly_and_never_shows_the_url() -> None:
    store = RedisTokenStore("redis://:sekret-pass@127.0.0.1:9/0")
    store.start()  # the wiring path: open in the background
    service = TokenService(store, SECRET)
    with pytest.raises(GatewayError) as bad_key:
        await service.authorize(bearer("la_sk_x"))
    assert bad_key.value.status == 401  # a bad key is refused before the store is touched
    key = jwt_codec.encode(Claims(sub="s", iat=int(time.time()), exp=int(time.time()) + 60), SECRET)
    with pytest.raises(GatewayError) as info:
        await service.authorize(bearer(key))
    assert (info.value.status, info.value.error_type) == (500, "api_error")
    assert info.value.message.startswith("Token storage error") and "sekret" not in info.value.message
    await store.close()


def test_hash_encoding_round_trips() -> None:
    for record in (
        TokenRecord(id="a"),
        TokenRecord(
            id="b",
            label="Zoë ✓",
            issued_at=1,
            expires_at=2,
            revoked=True,
            account="acc",
            max_requests=3,
            used_requests=2,
            max_tokens=9,
            used_input_tokens=4,
            used_output_tokens=5,
            rate_limit_per_minute=6,
        ),
    ):
        assert from_hash(to_hash(record)) == record


async def test_the_cli_issues_and_revokes_in_redis_for_a_running_gateway(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with redis_server(tmp_path / "redis") as url:
        env = {**cli_env(tmp_path / "cli-data"), "REDIS_URL": url}
        async with running_gateway(
            redis_config(fake, tmp_path / "a", claude_home), {"REDIS_URL": url, "TOKEN_SECRET": SECRET}
        ) as gw:
            issued = await _cli(env, tmp_path, "tokens", "issue", "--label", "from cli")
            key = issued.strip()
            token_id = jwt_codec.decode(key, SECRET, now=time.time()).sub
            async with anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0) as client:
                await client.messages.create(
                    model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "a"}]
                )
                assert await _cli(env, tmp_path, "tokens", "revoke", token_id) == f"revoked {token_id}\n"
                with pytest.raises(anthropic.PermissionDeniedError):
                    await client.messages.create(
                        model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "b"}]
                    )
        assert not (tmp_path / "cli-data").exists()


async def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli.main",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_gateway_started_before_redis_recovers_when_redis_comes_up(tmp_path: Path) -> None:
    port, clock = free_port(), FakeClock()
    store = RedisTokenStore(f"redis://127.0.0.1:{port}/0", clock=clock)
    store.start()
    service = TokenService(store, SECRET)
    with pytest.raises(GatewayError) as down:
        await service.issue(label="too early")
    assert down.value.status == 500
    async with redis_server(tmp_path / "redis", port=port):
        # A failed open is retried at most once a second: not yet, then after the clock passes it.
        with pytest.raises(GatewayError) as throttled:
            await service.issue(label="within the reopen window")
        assert throttled.value.status == 500
        clock.now += REOPEN_AFTER_SECONDS
        issued = await service.issue(label="after recovery")
        assert (await service.authorize(bearer(issued.token))).used_requests == 1
        await store.close()
