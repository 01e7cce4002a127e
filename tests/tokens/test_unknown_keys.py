"""Keys a store does not (yet) hold: caught up before admission, then refused if still unknown.

Before: a validly signed key without a record was admitted and never counted, so a key the CLI
had just issued could pass its budget while the server had not yet read the journal, and losing
the data dir revived revoked keys and lifted every budget.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import anthropic
import pytest
from anthropic.types import MessageParam

from dsl.model import StoragePolicy
from gateway.errors import GatewayError
from gateway.tokens.service import MEMORY_POLICY_WARNING, TokenService, build_token_service
from gateway.tokens.state import MemoryTokenStore
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import TEST_SECRET, gateway_config, running_gateway
from tests.support.redis_server import redis_server

from .helpers import SECRET, bearer, cli_env, config_for, open_service, run_cli

MODEL = "claude-test-1"
HELLO: list[MessageParam] = [{"role": "user", "content": "Hi"}]


async def test_a_key_the_cli_just_issued_is_metered_from_its_first_request(tmp_path: Path) -> None:
    # The server polls the journal every 30 s here, so only the catch-up on an unknown id finds it.
    server = await open_service(tmp_path, poll_interval=30.0, compact_on_open=False)
    try:
        issued = run_cli(tmp_path, "tokens", "issue", "--max-requests", "1", "--label", "fresh")
        assert issued.returncode == 0, issued.stderr
        key = issued.stdout.strip()
        first = await server.authorize(bearer(key))
        assert (first.label, first.used_requests) == ("fresh", 1)
        with pytest.raises(GatewayError) as spent:
            await server.authorize(bearer(key))
        assert spent.value.status == 429
    finally:
        await server.close()


async def test_introspection_catches_up_too(tmp_path: Path) -> None:
    server = await open_service(tmp_path, poll_interval=30.0, compact_on_open=False)
    try:
        key = run_cli(tmp_path, "tokens", "issue", "--max-requests", "3").stdout.strip()
        record = await server.introspect(bearer(key))
        assert (record.max_requests, record.used_requests) == (3, 0)
    finally:
        await server.close()


async def test_a_lost_data_dir_never_revives_a_revoked_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = await open_service(data)
    issued = await service.issue(label="revoked later", max_requests=1)
    await service.revoke(issued.record.id)
    await service.close()
    shutil.rmtree(data)  # the volume was lost or wiped
    service = await open_service(data)
    try:
        with pytest.raises(GatewayError) as unknown:
            await service.authorize(bearer(issued.token))
        assert (unknown.value.status, unknown.value.message) == (
            401,
            "Unknown key: the token store has no record of it",
        )
        with pytest.raises(GatewayError) as introspected:
            await service.introspect(bearer(issued.token))
        assert introspected.value.status == 401
    finally:
        await service.close()


async def test_the_sdk_sees_a_401_for_a_key_another_store_issued(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    issued = run_cli(elsewhere, "tokens", "issue", env=cli_env(elsewhere, TOKEN_SECRET=TEST_SECRET))
    key = issued.stdout.strip()
    async with (
        running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw,
        anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0) as client,
    ):
        with pytest.raises(anthropic.AuthenticationError) as refused:
            await client.messages.create(model=MODEL, max_tokens=8, messages=HELLO)
    assert refused.value.status_code == 401
    assert "Unknown key" in str(refused.value)
    assert fake.requests == []  # the upstream never saw it


async def test_a_redis_store_refuses_a_key_it_does_not_hold(tmp_path: Path) -> None:
    from gateway.tokens.redisstore import RedisTokenStore

    async with redis_server(tmp_path / "redis") as url:
        issuer = TokenService(RedisTokenStore(url, "one:"), SECRET)
        await issuer.store.open()
        issued = await issuer.issue(max_requests=5)
        await issuer.close()
        other = TokenService(RedisTokenStore(url, "two:"), SECRET)  # another prefix: a wiped store
        await other.store.open()
        try:
            with pytest.raises(GatewayError) as unknown:
                await other.authorize(bearer(issued.token))
            assert unknown.value.status == 401
        finally:
            await other.close()


async def test_the_memory_policy_keeps_the_seeds_rule_and_warns_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    issued = await TokenService(MemoryTokenStore(), SECRET).issue(label="from elsewhere")  # real clock
    with caplog.at_level(logging.WARNING, logger="gateway.tokens.service"):
        memory = config_for(tmp_path / "m", StoragePolicy.MEMORY)
        service = build_token_service(memory, SECRET, tmp_path / "m")
    assert MEMORY_POLICY_WARNING in caplog.text and "do not survive a restart" in caplog.text
    record = await service.authorize(bearer(issued.token))
    assert record.label == "from elsewhere"
    await service.close()
