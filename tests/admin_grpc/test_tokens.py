"""Tokens over gRPC are the same tokens as over HTTP and the proxy: one model, three doors."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
import anthropic
import grpc
import pytest

from dsl.model import RouterConfig
from link_assistant_router_admin.v1 import tokens_pb2 as pb
from link_assistant_router_admin.v1 import tokens_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.gateway import TEST_SECRET
from tests.support.two_accounts import ACCOUNT_ENV

MODEL = "claude-test-1"


async def ask(url: str, key: str) -> str:
    client = anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0)
    try:
        message = await client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
    finally:
        await client.close()
    return message.content[0].text  # type: ignore[union-attr]


async def test_a_key_issued_over_grpc_works_at_once_and_revoking_it_bites(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        issued = await tokens.CreateToken(pb.CreateTokenRequest(label="ci-job", max_requests=5))
        assert issued.key.startswith("la_sk_")
        assert issued.token.label == "ci-job" and issued.token.max_requests == 5
        assert issued.token.HasField("max_requests") and not issued.token.HasField("max_tokens")
        assert await ask(gw.url, issued.key) == "Hello from the fake upstream"

        seen = await tokens.GetToken(pb.GetTokenRequest(name=issued.token.name))
        assert seen.used_requests == 1
        assert seen.expire_time.seconds - seen.create_time.seconds == 24 * 3600

        revoked = await tokens.RevokeToken(pb.RevokeTokenRequest(name=issued.token.name))
        assert revoked.revoked
        with pytest.raises(anthropic.PermissionDeniedError):
            await ask(gw.url, issued.key)


async def test_http_issued_tokens_are_listed_over_grpc_and_vice_versa(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{gw.url}/api/tokens", json={"label": "from-http"}) as response:
                assert response.status == 200
            from_grpc = await tokens.CreateToken(pb.CreateTokenRequest(label="from-grpc", ttl_hours=2))
            listed = await tokens.ListTokens(pb.ListTokensRequest())
            assert {t.label for t in listed.tokens} == {"from-http", "from-grpc"}
            async with http.get(f"{gw.url}/api/tokens/list") as response:
                data = (await response.json())["data"]
        by_label = {r["label"]: r for r in data}
        assert by_label["from-grpc"]["id"] == from_grpc.token.uid
        assert by_label["from-grpc"]["expires_at"] - by_label["from-grpc"]["issued_at"] == 2 * 3600


async def test_expire_makes_the_key_fail_with_401(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        issued = await tokens.CreateToken(pb.CreateTokenRequest(label="short"))
        expired = await tokens.ExpireToken(pb.ExpireTokenRequest(name=issued.token.name))
        assert expired.expire_time.seconds <= expired.create_time.seconds + 5
        with pytest.raises(anthropic.AuthenticationError):
            await ask(gw.url, issued.key)


async def test_errors_use_grpc_status_codes(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (_gw, channel):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await tokens.GetToken(pb.GetTokenRequest(name="tokens/8d5c5a0e-0000-4000-8000-000000000000"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert "8d5c5a0e" in (missing.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as revoke_unknown:
            await tokens.RevokeToken(pb.RevokeTokenRequest(name="tokens/nope"))
        assert revoke_unknown.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await tokens.GetToken(pb.GetTokenRequest(name=""))
        assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as pasted_key:
            await tokens.GetToken(pb.GetTokenRequest(name="la_sk_eyJhbGciOiJIUzI1NiJ9.e30.c2ln"))
        assert pasted_key.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        details = pasted_key.value.details() or ""
        assert "UUID" in details and "e30" not in details
        with pytest.raises(grpc.aio.AioRpcError) as odd:
            await tokens.RevokeToken(pb.RevokeTokenRequest(name="tokens/" + "some text\nwith junk " * 10))
        assert odd.value.code() == grpc.StatusCode.NOT_FOUND
        assert odd.value.details() == "token not found: (not shown)"
        with pytest.raises(grpc.aio.AioRpcError) as too_long:
            await tokens.CreateToken(pb.CreateTokenRequest(label="x" * 5000))
        assert too_long.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "label" in (too_long.value.details() or "")


async def cli(tmp_path: Path, *args: str) -> str:
    """Run `link-assistant-router tokens ...` on the gateway's data dir; its stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli.main",
        "tokens",
        *args,
        "--data-dir",
        str(tmp_path / "data"),
        env={"TOKEN_SECRET": TEST_SECRET, "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_the_cli_and_grpc_see_each_others_changes(config: RouterConfig, tmp_path: Path) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        key = (await cli(tmp_path, "issue", "--label", "from-cli")).strip()
        listed = await tokens.ListTokens(pb.ListTokensRequest())
        assert [t.label for t in listed.tokens] == ["from-cli"]  # at once: admin reads catch up first
        assert await ask(gw.url, key) == "Hello from the fake upstream"

        issued = await tokens.CreateToken(pb.CreateTokenRequest(label="from-grpc"))
        assert "from-grpc" in await cli(tmp_path, "list")
        assert await cli(tmp_path, "revoke", issued.token.uid) == f"revoked {issued.token.uid}\n"
        started = time.monotonic()
        while not (await tokens.GetToken(pb.GetTokenRequest(name=issued.token.name))).revoked:
            # The 1 s bound itself is tests/tokens/test_cli.py's; here a loaded machine gets slack.
            assert time.monotonic() - started < 5.0, "the CLI's revocation never reached the gateway"
            await asyncio.sleep(0.05)
        with pytest.raises(anthropic.PermissionDeniedError):
            await ask(gw.url, issued.key)
