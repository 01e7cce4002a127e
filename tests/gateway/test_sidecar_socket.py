"""Sidecar mode, end to end on the real gateway process: the Unix socket listener (alone or beside
TCP, mode 0660, removed on exit), the official SDKs through an httpx transport bound to the socket,
admin gRPC on a socket, and the per-pod identity a socket can be bound to (`default-key-file`)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anthropic
import grpc
import httpx2 as httpx  # the HTTP client the installed anthropic/openai SDKs are built on
import openai
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.fake_anthropic import FakeAnthropic
from tests.support.serve_process import serve_env, serve_process

SECRET = "sidecar-socket-secret-0123456789"
# The SDKs insist on some key; a bound socket does not need a real one.
PLACEHOLDER = "sidecar"
BODY = {"model": "claude-test-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # A short directory: a Unix socket path must fit in 108 bytes, pytest's tmp_path may not.
    path = Path(tempfile.mkdtemp(prefix="lar-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def base_env(fake: FakeAnthropic, claude_home: Path, data: Path, **extra: str) -> dict[str, str]:
    return {
        "TOKEN_SECRET": SECRET,
        "DATA_DIR": str(data),
        "CLAUDE_CODE_HOME": str(claude_home),
        "UPSTREAM_BASE_URL": fake.url,
        **extra,
    }


def issue_key(data: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "tokens", "issue", "--data-dir", str(data), *args],
        env=serve_env({"TOKEN_SECRET": SECRET}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def anthropic_on(sock: Path, key: str) -> anthropic.AsyncAnthropic:
    transport = httpx.AsyncHTTPTransport(uds=str(sock))
    return anthropic.AsyncAnthropic(
        base_url="http://gateway",
        api_key=key,
        http_client=httpx.AsyncClient(transport=transport),
        max_retries=0,
    )


def openai_on(sock: Path, key: str) -> openai.AsyncOpenAI:
    transport = httpx.AsyncHTTPTransport(uds=str(sock))
    return openai.AsyncOpenAI(
        base_url="http://gateway/v1",
        api_key=key,
        http_client=httpx.AsyncClient(transport=transport),
        max_retries=0,
    )


async def ask_anthropic(sock: Path, key: str) -> str:
    async with anthropic_on(sock, key) as client:
        message = await client.messages.create(
            model="claude-test-1", max_tokens=5, messages=[{"role": "user", "content": "Hi"}]
        )
    return message.content[0].text  # type: ignore[union-attr]


async def ask_openai(sock: Path, key: str) -> str:
    async with openai_on(sock, key) as client:
        completion = await client.chat.completions.create(
            model="claude-test-1", messages=[{"role": "user", "content": "Hi"}]
        )
    return completion.choices[0].message.content or ""


async def test_sdks_reach_the_gateway_through_the_socket_beside_tcp(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, sockdir: Path
) -> None:
    sock = sockdir / "run" / "gateway.sock"  # the parent directory is created too
    env = base_env(fake, claude_home, tmp_path / "data", ROUTER_SOCKET=str(sock))
    key = issue_key(tmp_path / "data")
    async with serve_process(env, tmp_path) as proc:
        assert proc.url.startswith("http://127.0.0.1:")  # TCP still listens beside the socket
        assert stat.S_ISSOCK(sock.stat().st_mode)
        assert stat.S_IMODE(sock.stat().st_mode) == 0o660
        assert await ask_anthropic(sock, key)
        assert await ask_openai(sock, key)
        async with httpx.AsyncClient() as tcp:
            over_tcp = await tcp.post(
                proc.url + "/v1/messages",
                headers={"x-api-key": key},
                json=BODY,
            )
        assert over_tcp.status_code == 200
        with pytest.raises(anthropic.AuthenticationError):  # no bound key: the socket wants a key too
            await ask_anthropic(sock, PLACEHOLDER)
        assert await proc.stop() == 0
    assert f"Listening on unix:{sock} (mode 0660)" in proc.stderr
    assert not sock.exists()  # removed on shutdown


async def test_socket_alone_with_its_mode_and_admin_grpc_on_a_socket(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, sockdir: Path
) -> None:
    sock, admin_sock = sockdir / "gw.sock", sockdir / "admin.sock"
    sock.touch()
    sock.unlink()
    env = base_env(
        fake,
        claude_home,
        tmp_path / "data",
        ROUTER_SOCKET=str(sock),
        DISABLE_TCP="1",
        ADMIN_GRPC_SOCKET=str(admin_sock),
    )
    async with serve_process(env, tmp_path, args=("--config", str(_mode_config(tmp_path)))) as proc:
        assert proc.url == f"unix:{sock}"
        assert "Listening on 127.0.0.1" not in proc.stderr  # no TCP listener at all
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600  # `socket-mode 600` from the config
        assert stat.S_IMODE(admin_sock.stat().st_mode) == 0o600
        async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(sock))) as http:
            health = await http.get("http://gateway/health")
        assert health.status_code == 200
        async with grpc.aio.insecure_channel(f"unix:{admin_sock}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert not sock.exists() and not admin_sock.exists()


def _mode_config(tmp_path: Path) -> Path:
    config = tmp_path / "router.lino"
    config.write_text("server:\n  socket-mode 600\n", encoding="utf-8")
    return config


async def test_a_bound_socket_needs_no_key_but_tcp_still_does(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, sockdir: Path
) -> None:
    data = tmp_path / "data"
    pod_key = issue_key(data, "--label", "pod-a", "--max-requests", "2")
    key_file = tmp_path / "key"
    key_file.write_text(pod_key + "\n", encoding="utf-8")
    sock = sockdir / "gw.sock"
    env = base_env(fake, claude_home, data, ROUTER_SOCKET=str(sock), ROUTER_DEFAULT_KEY_FILE=str(key_file))
    async with serve_process(env, tmp_path) as proc:
        assert await ask_anthropic(sock, PLACEHOLDER)  # a placeholder, not a key
        async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(sock))) as http:
            me = await http.get("http://gateway/api/tokens/self")  # no credential header at all
            assert me.status_code == 200, me.text
            assert me.json()["label"] == "pod-a"
            assert me.json()["used_requests"] == 1  # the request above counted against the pod's key
        async with httpx.AsyncClient() as tcp:
            for headers in ({}, {"x-api-key": PLACEHOLDER}):
                denied = await tcp.post(proc.url + "/v1/messages", headers=headers, json=BODY)
                assert denied.status_code == 401
                assert denied.json()["type"] == "error"
                assert pod_key not in denied.text
        assert await ask_openai(sock, PLACEHOLDER)  # the second (last) request of the budget
        with pytest.raises(anthropic.RateLimitError):  # the pod's budget applies on the socket
            await ask_anthropic(sock, PLACEHOLDER)
    assert pod_key not in proc.stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"ROUTER_DEFAULT_KEY_FILE": "KEYFILE"}, "default-key-file binds the Unix socket to a key"),
        ({"ROUTER_SOCKET": "SOCK", "ROUTER_DEFAULT_KEY_FILE": "MISSING"}, "default-key-file"),
        ({"ROUTER_SOCKET": "SOCK", "ROUTER_DEFAULT_KEY_FILE": "NOTAKEY"}, "must hold one la_sk_ key"),
        ({"DISABLE_TCP": "1"}, "DISABLE_TCP: TCP is off but no Unix socket is set"),
    ],
)
def test_socket_settings_that_cannot_act_are_refused_at_start_up(
    tmp_path: Path, sockdir: Path, extra: dict[str, str], expected: str
) -> None:
    (tmp_path / "notakey").write_text("sk-ant-api03-not-ours\n", encoding="utf-8")
    (tmp_path / "keyfile").write_text("la_sk_x\n", encoding="utf-8")
    paths = {
        "KEYFILE": tmp_path / "keyfile",
        "SOCK": sockdir / "gw.sock",
        "MISSING": tmp_path / "missing",
        "NOTAKEY": tmp_path / "notakey",
    }
    env = {name: str(paths.get(value, value)) for name, value in extra.items()}
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "serve"],
        env=serve_env({"TOKEN_SECRET": SECRET, "DATA_DIR": str(tmp_path / "d"), **env}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and "sk-ant-api03-not-ours" not in done.stderr


def test_a_file_in_the_way_of_the_socket_is_not_replaced(tmp_path: Path, sockdir: Path) -> None:
    sock = sockdir / "gw.sock"
    sock.write_text("precious\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "serve"],
        env=serve_env({"TOKEN_SECRET": SECRET, "DATA_DIR": str(tmp_path / "d"), "ROUTER_SOCKET": str(sock)}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"cannot listen on unix:{sock}: a file that is not a socket is in the way" in done.stderr
    assert sock.read_text(encoding="utf-8") == "precious\n"
