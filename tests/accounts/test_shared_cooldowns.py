"""Replicas share cooldowns and admin actions through a real redis-server.

Two (then three) gateways in front of the same three account stand-ins: an account one replica
saw rate-limited is skipped by the others without being tried, a replica that starts later learns
it from Redis, and an admin reset or drain on one replica holds on all of them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anthropic

from dsl.model import RedisConfig, RouterConfig, RoutingStrategy, SecretRef
from gateway.accounts.pool import AccountPool
from tests.accounts.trio import HI, MODEL, NAMES, trio_config
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.redis_server import redis_server


async def eventually(check: Callable[[], bool], seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()


def pool_of(gw: RunningGateway) -> AccountPool:
    pool = gw.pool
    assert isinstance(pool, AccountPool)
    return pool


async def test_replicas_share_cooldowns_and_admin_actions(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(redis_server(tmp_path / "redis"))
        fakes = {n: await stack.enter_async_context(FakeAnthropic(text=f"served by {n}")) for n in NAMES}
        env = {f"KEY_{n.upper()}": f"sk-ant-api03-{n}" for n in NAMES}
        env |= {"REDIS_URL": url, "PATH": os.environ.get("PATH", "")}

        def config(name: str) -> RouterConfig:
            base = trio_config(fakes, tmp_path / name, strategy=RoutingStrategy.PRIORITY)
            return dataclasses.replace(base, redis=RedisConfig(url=SecretRef(env="REDIS_URL")))

        gw1 = await stack.enter_async_context(running_gateway(config("one"), env))
        gw2 = await stack.enter_async_context(running_gateway(config("two"), env))
        key = await gw1.issue_key(label="shared")  # the token store is shared too

        def client(gw: RunningGateway) -> anthropic.AsyncAnthropic:
            c = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
            stack.push_async_callback(c.close)
            return c

        async def ask(c: anthropic.AsyncAnthropic) -> Any:
            return (await c.messages.create(model=MODEL, max_tokens=5, messages=HI)).content[0].text  # type: ignore[union-attr]

        one, two = client(gw1), client(gw2)
        fakes["a"].then(Step.rate_limited(retry_after=30))
        assert await ask(one) == "served by b"
        await eventually(lambda: pool_of(gw2).state("a").cooldown_reason is not None)
        assert await ask(two) == "served by b"
        assert len(fakes["a"].messages_requests()) == 1  # the second replica never tried a
        remaining = pool_of(gw2).snapshot()[0]["cooldown_remaining_seconds"]
        assert 25 <= remaining <= 30

        gw3 = await stack.enter_async_context(running_gateway(config("three"), env))
        assert await ask(client(gw3)) == "served by b"  # learnt from Redis at start-up
        assert len(fakes["a"].messages_requests()) == 1

        pool_of(gw2).reset_cooldown("a")  # what the admin gRPC ResetCooldown calls
        await eventually(lambda: pool_of(gw1).state("a").cooldown_reason is None)
        assert await ask(one) == "served by a"

        pool_of(gw3).drain("b")
        pool_of(gw3).drain("a")
        await eventually(lambda: pool_of(gw1).state("a").drained and pool_of(gw2).state("b").drained)
        assert await ask(one) == "served by c"
        assert await ask(two) == "served by c"
