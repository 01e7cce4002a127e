"""Akash has no secret files: the SDL rendered from examples/kubernetes.lino (which reads its token secret,
admin key and API key from files) passes every secret as an env var, and its boot command starts a
gateway with them that is ready (Redis reachable, an account usable) and honours the admin key."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aiohttp
import yaml

from controller.akash import BOOT, CONFIG_FILE, placeholder
from controller.render_cli import render_command
from tests.deploy.running import running, wait_ready
from tests.support.ports import free_port
from tests.support.redis_server import redis_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kubernetes.lino"


async def test_akash_sdl_of_the_kubernetes_example_passes_file_secrets_as_env(tmp_path: Path) -> None:
    code, text = render_command(str(EXAMPLE), "akash")
    assert code == 0, text
    header, body = text.split("---\n", 1)
    assert "/run/secrets/router/token-secret of the config is read from TOKEN_SECRET" in header
    service = yaml.safe_load(body)["services"]["router"]
    env = dict(item.split("=", 1) for item in service["env"])
    secrets = {name for name, value in env.items() if value == placeholder(name)}
    assert secrets == {"TOKEN_SECRET", "ADMIN_KEY", "API_KEY", "REDIS_URL"}
    assert service["args"] == [BOOT]
    # With redis the store is shared: no persistent volume is asked for.
    assert "params" not in service

    port = free_port()
    admin_key = "akash-admin-key-0123456789"
    async with redis_server(tmp_path / "redis") as redis_url:
        env.update(
            {
                "TOKEN_SECRET": "akash-token-secret-0123456789abcdef",
                "ADMIN_KEY": admin_key,
                "API_KEY": "sk-ant-akash-test-not-real",
                "REDIS_URL": redis_url,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "HOME": str(tmp_path),
                "DATA_DIR": str(tmp_path / "data"),
                "CLAUDE_CODE_HOME": str(tmp_path / "claude"),
                "ROUTER_HOST": "127.0.0.1",
                "ROUTER_PORT": str(port),
                "ADMIN_GRPC_PORT": "off",
                "ROUTER_SHUTDOWN_DELAY": "0",
            }
        )
        boot = BOOT.replace(CONFIG_FILE, str(tmp_path / "router.lino"))  # not the shared /tmp
        url = f"http://127.0.0.1:{port}"
        async with running(["sh", "-c", boot], env, tmp_path) as proc, aiohttp.ClientSession() as http:
            await wait_ready(http, url, proc)
            written = (tmp_path / "router.lino").read_text()
            assert "token-secret-env TOKEN_SECRET" in written and "-file" not in written
            # The admin key came from ADMIN_KEY (it was a file in the example): without it, refused.
            async with http.post(url + "/api/tokens", json={"ttl_hours": 1}) as refused:
                assert refused.status == 401
            headers = {"Authorization": f"Bearer {admin_key}"}
            async with http.post(url + "/api/tokens", headers=headers, json={"ttl_hours": 1}) as issued:
                assert issued.status == 200, await issued.text()
                assert (await issued.json())["token"].startswith("la_sk_")
        assert proc.returncode == 0


def test_akash_without_redis_keeps_the_store_on_a_persistent_volume() -> None:
    code, text = render_command(str(ROOT / "akash" / "router.lino"), "akash", storage_size="3Gi")
    assert code == 0, text
    sdl = yaml.safe_load(text.split("---\n", 1)[1])
    service = sdl["services"]["router"]
    env = dict(item.split("=", 1) for item in service["env"])
    assert service["params"]["storage"]["data"] == {"mount": env["DATA_DIR"], "readOnly": False}
    volumes = sdl["profiles"]["compute"]["router"]["resources"]["storage"]
    assert {"name": "data", "size": "3Gi", "attributes": {"persistent": True, "class": "beta3"}} in volumes
    # Two gateways would each keep their own store: refused, as everywhere else.
    code, text = render_command(str(ROOT / "akash" / "router.lino"), "akash", replicas=2)
    assert code == 1 and "2 replicas without redis" in text
