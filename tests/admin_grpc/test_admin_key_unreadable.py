"""A configured admin key that cannot be read is fatal at start and fails closed while running.

Before: a missing `admin-key-file`, an empty one or an unset `admin-key-env` resolved to "no key",
which silently opened admin to every loopback caller (and `doctor` said `unset`).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import aiohttp
import grpc
import pytest

from dsl.model import AdminConfig, RouterConfig, SecretRef
from gateway.app import ConfigurationError, build_context
from link_assistant_router_admin.v1 import tokens_pb2 as pb
from link_assistant_router_admin.v1 import tokens_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.serve_process import serve_env
from tests.support.two_accounts import ACCOUNT_ENV

KEY = "admin-key-unreadable-test-0123"


@pytest.mark.parametrize(
    ("ref", "written", "fragment"),
    [
        (SecretRef(file="missing-key"), None, "the admin key file {file} is missing, unreadable or empty"),
        (SecretRef(file="empty-key"), "\n", "the admin key file {file} is missing, unreadable or empty"),
        (SecretRef(env="NO_SUCH_ADMIN_VAR"), None, "the admin key variable NO_SUCH_ADMIN_VAR is unset"),
    ],
)
def test_a_configured_but_unreadable_admin_key_refuses_to_start(
    tmp_path: Path, ref: SecretRef, written: str | None, fragment: str
) -> None:
    if ref.file:
        ref = SecretRef(file=str(tmp_path / ref.file))
        if written is not None:
            Path(ref.file).write_text(written)
    config = RouterConfig(admin=AdminConfig(token_secret=SecretRef(env="TOKEN_SECRET"), admin_key=ref))
    with pytest.raises(ConfigurationError) as info:
        build_context(config, {"TOKEN_SECRET": "s"})
    assert fragment.format(file=ref.file) in str(info.value)


def test_serve_and_doctor_say_so_for_a_missing_key_file(tmp_path: Path) -> None:
    missing = tmp_path / "admin-key"
    (tmp_path / "router.lino").write_text(f"admin:\n  admin-key-file {missing}\n")
    env = serve_env({"TOKEN_SECRET": "s", "DATA_DIR": str(tmp_path / "data")})
    for command, code in ((["serve", "--port", "0", "--host", "127.0.0.1"], 2), (["doctor"], 0)):
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", *command, "--config", str(tmp_path / "router.lino")],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == code, result.stderr
        assert f"the admin key file {missing} is missing" in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        if command == ["doctor"]:
            assert "admin_key : UNREADABLE" in result.stdout


async def test_a_key_file_that_disappears_while_running_closes_admin(
    config: RouterConfig, tmp_path: Path
) -> None:
    key_file = tmp_path / "admin-key"
    key_file.write_text(KEY + "\n")
    admin = AdminConfig(token_secret=SecretRef(env="TOKEN_SECRET"), admin_key=SecretRef(file=str(key_file)))
    async with (
        grpc_gateway(dataclasses.replace(config, admin=admin), ACCOUNT_ENV) as (gw, channel),
        aiohttp.ClientSession() as http,
    ):
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        with_key = {"Authorization": f"Bearer {KEY}"}
        async with http.get(gw.url + "/api/tokens/list", headers=with_key) as response:
            assert response.status == 200
        key_file.unlink()  # e.g. a Secret unmounted; loopback callers must not be let in
        for headers in ({}, with_key):
            for path in ("/api/tokens/list", "/api/providers"):
                async with http.get(gw.url + path, headers=headers) as response:
                    body = await response.json()
                    assert response.status == 503, (path, body)
                    assert "admin endpoints are closed" in body["error"]["message"]
        with pytest.raises(grpc.aio.AioRpcError) as closed:
            await tokens.ListTokens(pb.ListTokensRequest())
        assert closed.value.code() == grpc.StatusCode.UNAVAILABLE
        key_file.write_text(KEY)  # restored: the key is required again, and works
        async with http.get(gw.url + "/api/tokens/list") as response:
            assert response.status == 401
        await tokens.ListTokens(pb.ListTokensRequest(), metadata=(("authorization", f"Bearer {KEY}"),))
