"""TLS on both listeners of the real `serve` process: the anthropic and openai SDKs over HTTPS with
the test CA, the admin client over TLS, certificates re-read when their files change, and the
admin gRPC listener bound to ROUTER_HOST's address unless ADMIN_GRPC_HOST says otherwise."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import anthropic
import openai
import pytest

from dsl.model import ServerConfig
from gateway.tlsfiles import http_tls, tls_problem
from link_assistant_router_admin import AdminClient, AdminError
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import write_credentials
from tests.support.serve_process import serve_env, serve_process
from tests.support.tls import Pki, make_pki

SECRET = "tls-test-secret-0123456789abcdef"
ADMIN_LINE = re.compile(r"admin gRPC listening on (\S+):(\d+) \((\w+)\)")


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


async def health(url: str, context: ssl.SSLContext | bool) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/health", ssl=context) as response:
        return response.status


def install(pki: Pki, cert: Path, key: Path) -> None:
    """Replace the served files in place, key first (a half-written pair must not break serving)."""
    shutil.copyfile(pki.server_key, key)
    shutil.copyfile(pki.server_cert, cert)


async def ask_both(url: str, key: str, ca: Path) -> None:
    http = anthropic.DefaultAsyncHttpxClient(verify=trusting(ca))
    async with anthropic.AsyncAnthropic(base_url=url, api_key=key, http_client=http, max_retries=0) as claude:
        message = await claude.messages.create(
            model="claude-test-1", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
        )
        assert message.content[0].type == "text"
    http2 = openai.DefaultAsyncHttpxClient(verify=trusting(ca))
    async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=key, http_client=http2, max_retries=0) as gpt:
        chat = await gpt.chat.completions.create(
            model="claude-test-1", messages=[{"role": "user", "content": "Hi"}]
        )
        assert chat.choices[0].message.content


async def test_sdks_over_https_admin_over_tls_and_certificates_reloaded(
    fake: FakeAnthropic, tmp_path: Path
) -> None:
    first, second = make_pki(tmp_path / "one", "one"), make_pki(tmp_path / "two", "two", serial=2000)
    cert, key = tmp_path / "served.pem", tmp_path / "served.key"
    install(first, cert, key)
    home = tmp_path / "claude"
    write_credentials(home, "sk-ant-oat01-tls", "sk-ant-ort01-tls", expires_at_ms=4_102_444_800_000)
    env = {
        "TOKEN_SECRET": SECRET,
        "DATA_DIR": str(tmp_path / "data"),
        "CLAUDE_CODE_HOME": str(home),
        "UPSTREAM_BASE_URL": fake.url,
        "TLS_CERT_FILE": str(cert),
        "TLS_KEY_FILE": str(key),
        "ADMIN_GRPC_PORT": "0",
    }
    async with serve_process(env, tmp_path) as proc:
        assert proc.url.startswith("https://127.0.0.1:")
        host, port, mode = ADMIN_LINE.findall(proc.stderr)[0]
        assert (host, mode) == ("127.0.0.1", "TLS")  # bound to ROUTER_HOST, not 0.0.0.0
        target = f"127.0.0.1:{port}"

        async with AdminClient.connect(target, ca_file=str(first.ca_cert)) as admin:
            created = await admin.create_token(label="tls")
        await ask_both(proc.url, created.key, first.ca_cert)
        with pytest.raises(aiohttp.ClientError):
            await health(proc.url, trusting(second.ca_cert))
        with pytest.raises(aiohttp.ClientError):
            await health(proc.url.replace("https://", "http://"), False)

        install(second, cert, key)  # a renewed certificate from another CA: no restart
        await ask_both(proc.url, created.key, second.ca_cert)
        async with AdminClient.connect(target, ca_file=str(second.ca_cert)) as admin:
            assert (await admin.get_token(created.token.uid)).label == "tls"
        async with AdminClient.connect(target, ca_file=str(first.ca_cert)) as stale:
            with pytest.raises(AdminError) as refused:
                await stale.get_token(created.token.uid)
            assert refused.value.code.name == "UNAVAILABLE"
        with pytest.raises(aiohttp.ClientError):
            await health(proc.url, trusting(first.ca_cert))
    assert "la_sk_" not in proc.stderr


def test_admin_grpc_binds_the_http_host_unless_told_otherwise() -> None:
    assert ServerConfig(host="10.1.2.3").admin_grpc_bind_host == "10.1.2.3"
    assert ServerConfig(host="10.1.2.3", admin_grpc_host="127.0.0.1").admin_grpc_bind_host == "127.0.0.1"
    assert ServerConfig().admin_grpc_bind_host == "0.0.0.0"


@pytest.mark.parametrize(
    ("cert", "key", "ca", "problem"),
    [
        ("c.pem", None, None, "both"),
        (None, "k.pem", None, "both"),
        (None, None, "ca.pem", "mTLS"),
        ("c.pem", "k.pem", "ca.pem", None),
        (None, None, None, None),
    ],
)
def test_tls_settings_that_cannot_work_together(
    cert: str | None, key: str | None, ca: str | None, problem: str | None
) -> None:
    found = tls_problem(cert, key, ca)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_lone_tls_file_stops_serve_loudly(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    with pytest.raises(OSError):
        http_tls(str(pki.server_cert), str(tmp_path / "missing.key"))
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "serve"],
        env=serve_env({"TOKEN_SECRET": SECRET, "TLS_CERT_FILE": str(pki.server_cert)}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: TLS needs both"), done.stderr
    assert "Traceback" not in done.stderr
