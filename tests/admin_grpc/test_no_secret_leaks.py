"""The admin surfaces never leak secrets: the real serve process at debug level with JSON logs, driven
over gRPC and HTTP with missing, wrong and right admin keys; neither TOKEN_SECRET, the admin key
nor any issued la_sk_ key appears in a log line, an HTTP response or a gRPC answer/error."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import grpc

from link_assistant_router_admin.v1 import (
    config_pb2,
    config_pb2_grpc,
    tokens_pb2,
    tokens_pb2_grpc,
    usage_pb2,
    usage_pb2_grpc,
)
from tests.support.ports import free_port
from tests.support.serve_process import serve_env, serve_process

SECRET = "leakcheck-token-secret-4f1d9a"
ADMIN_KEY = "leakcheck-admin-key-8b2e77"
GOOD = (("authorization", f"Bearer {ADMIN_KEY}"),)


async def grpc_calls(target: str) -> tuple[list[str], list[str]]:
    """(everything the gRPC answers said, the keys issued)."""
    seen: list[str] = []
    async with grpc.aio.insecure_channel(target) as channel:
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", ADMIN_KEY),)):
            try:
                await tokens.ListTokens(tokens_pb2.ListTokensRequest(), metadata=metadata)
            except grpc.aio.AioRpcError as denied:
                seen.append(f"{denied.code()} {denied.details()} {denied.trailing_metadata()}")
        issued = await tokens.CreateToken(tokens_pb2.CreateTokenRequest(label="leak"), metadata=GOOD)
        seen.append(str(await tokens.ListTokens(tokens_pb2.ListTokensRequest(), metadata=GOOD)))
        revoke = tokens_pb2.RevokeTokenRequest(name=issued.token.name)
        seen.append(str(await tokens.RevokeToken(revoke, metadata=GOOD)))
        try:
            await tokens.GetToken(tokens_pb2.GetTokenRequest(name=issued.key), metadata=GOOD)  # key as id
        except grpc.aio.AioRpcError as missing:
            seen.append(f"{missing.code()} {missing.details()}")
        configs = config_pb2_grpc.ConfigServiceStub(channel)
        effective = config_pb2.GetEffectiveConfigRequest()
        seen.append(str(await configs.GetEffectiveConfig(effective, metadata=GOOD)))
        seen.append(
            str(
                await usage_pb2_grpc.UsageServiceStub(channel).GetUsage(
                    usage_pb2.GetUsageRequest(), metadata=GOOD
                )
            )
        )
    return seen, [issued.key]


async def http_calls(url: str) -> tuple[list[str], list[str]]:
    seen: list[str] = []
    keys: list[str] = []
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    requests = [
        ("POST", "/api/tokens", {}, {"label": "no-key"}),
        ("POST", "/api/tokens", {"Authorization": "Bearer wrong"}, {"label": "wrong"}),
        ("POST", "/api/tokens", auth, {"label": "http"}),
        ("GET", "/api/tokens/list", auth, None),
        ("GET", "/metrics", {}, None),
        ("GET", "/v1/usage", {}, None),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, headers, body in requests:
            async with http.request(method, url + path, headers=headers, json=body) as response:
                text = await response.text()
                if path == "/api/tokens" and response.status == 200:
                    keys.append(json.loads(text)["token"])
                    continue  # the one answer that must carry the new key
                seen.append(f"{response.status} {dict(response.headers)} {text}")
        for key in keys:  # the issued key used at the proxy and for introspection
            async with http.get(url + "/api/tokens/self", headers={"x-api-key": key}) as response:
                seen.append(await response.text())
    return seen, keys


async def test_admin_apis_at_debug_leak_no_secret(tmp_path: Path) -> None:
    grpc_port = free_port()
    env = serve_env(
        {
            "TOKEN_SECRET": SECRET,
            "TOKEN_ADMIN_KEY": ADMIN_KEY,
            "DATA_DIR": str(tmp_path / "data"),
            "ADMIN_GRPC_PORT": str(grpc_port),
            "VERBOSE": "true",
            "RUST_LOG": "debug",
            "JSON_LOGS": "true",
        }
    )
    config = tmp_path / "router.lino"
    config.write_text("server:\n  admin-grpc-host 127.0.0.1\n")
    async with serve_process(env, tmp_path, args=("--config", str(config))) as proc:
        grpc_seen, grpc_keys = await grpc_calls(f"127.0.0.1:{grpc_port}")
        http_seen, http_keys = await http_calls(proc.url)
        assert await proc.stop() == 0
    assert len(grpc_keys) == len(http_keys) == 1
    logs = proc.stderr_lines
    assert any('"DEBUG"' in line or " DEBUG " in line for line in logs), "not running at debug level"
    assert sum('"link_assistant_router.access"' in line for line in logs) >= len(http_seen)
    blob = "\n".join([*grpc_seen, *http_seen, *logs, *proc.stdout_lines])
    for secret in (SECRET, ADMIN_KEY, *grpc_keys, *http_keys):
        assert secret not in blob, f"leaked: {secret[:12]}…"
    assert "UNAUTHENTICATED" in grpc_seen[0]
    assert any(f"admin gRPC listening on 127.0.0.1:{grpc_port}" in line for line in logs)
