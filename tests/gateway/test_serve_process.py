"""The real gateway process: start-up errors, graceful SIGTERM with a stream in flight, restart."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.serve_process import serve_env, serve_process

SECRET = "serve-process-secret-0123456789"
BODY = {"model": "claude-test-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}


def test_serve_without_a_secret_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "serve"],
        env=serve_env({"DATA_DIR": str(tmp_path / "d")}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: TOKEN_SECRET is required")
    assert "Traceback" not in result.stderr


def test_serve_with_a_bad_port_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "serve", "--port", "http"],
        env=serve_env({"TOKEN_SECRET": SECRET}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


async def issue(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(url + "/api/tokens", json={"ttl_hours": 1, "label": "proc"}) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["token"])


async def test_sigterm_lets_the_stream_in_flight_finish_and_keys_survive_a_restart(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    env = {
        "TOKEN_SECRET": SECRET,
        "DATA_DIR": str(tmp_path / "data"),
        "CLAUDE_CODE_HOME": str(claude_home),
        "UPSTREAM_BASE_URL": fake.url,
    }
    fake.then(Step.stall(after_events=4, seconds=1.0))
    async with serve_process(env, tmp_path) as proc, aiohttp.ClientSession() as http:
        key = await issue(http, proc.url)
        response = await http.post(
            proc.url + "/v1/messages", headers={"x-api-key": key}, json={**BODY, "stream": True}
        )
        first = await response.content.readany()
        assert first.startswith(b"event: message_start")
        proc.process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(response.content.read(), 15)
        code = await proc.stop()
    assert code == 0
    assert (first + rest).rstrip().endswith(b'data: {"type": "message_stop"}')
    assert "stopped" in proc.stderr
    async with (
        serve_process(env, tmp_path) as proc,
        aiohttp.ClientSession() as http,
        http.post(proc.url + "/v1/messages", headers={"x-api-key": key}, json=BODY) as response,
    ):
        assert response.status == 200
        assert (await response.json())["content"][0]["text"] == fake.text


async def test_sigint_stops_an_idle_gateway_and_flags_hide_routes(tmp_path: Path) -> None:
    env = {"TOKEN_SECRET": SECRET, "DATA_DIR": str(tmp_path / "data")}
    # No subcommand at all (bare `link-assistant-router`, serve flags given directly) serves too.
    bare = ("gateway.cli.main",)
    async with serve_process(env, tmp_path, args=("--disable-anthropic-api",), command=bare) as proc:
        async with aiohttp.ClientSession() as http:
            async with http.get(proc.url + "/health") as response:
                assert await response.text() == "ok"
            async with http.post(proc.url + "/v1/messages", json=BODY) as response:
                assert response.status == 404
                assert (await response.json())["error"]["type"] == "not_found_error"
        assert await proc.stop(signal.SIGINT) == 0
    assert json.dumps(proc.stderr_lines).count("Traceback") == 0


def test_serve_on_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", "serve"],
            env=serve_env(
                {"TOKEN_SECRET": SECRET, "DATA_DIR": str(tmp_path / "d"), "ROUTER_PORT": str(port)}
            ),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
