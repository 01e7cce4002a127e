"""The real `link-assistant-router serve` process: admin gRPC on --admin-grpc-port next to HTTP,
JSON access lines with --json-logs, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from link_assistant_router_admin.v1 import tokens_pb2, tokens_pb2_grpc
from tests.support.ports import free_port


async def serve(tmp_path: Path, http_port: int, grpc_port: int, *flags: str) -> asyncio.subprocess.Process:
    """`link-assistant-router --config <tmp>/router.lino serve` on loopback with these ports."""
    config = tmp_path / "router.lino"
    config.write_text("server:\n  host 127.0.0.1\n  admin-grpc-host 127.0.0.1\n")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli.main",
        "--config",
        str(config),
        "serve",
        "--port",
        str(http_port),
        "--admin-grpc-port",
        str(grpc_port),
        "--data-dir",
        str(tmp_path / "data"),
        *flags,
        env={"TOKEN_SECRET": "serve-test-secret-0123456789", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_healthy(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{url}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy in {seconds}s")


async def test_serve_runs_admin_grpc_and_json_logs(tmp_path: Path) -> None:
    http_port, grpc_port = free_port(), free_port()
    process = await serve(tmp_path, http_port, grpc_port, "--json-logs")
    url = f"http://127.0.0.1:{http_port}"
    try:
        await wait_healthy(url)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            issued = await tokens_pb2_grpc.TokenServiceStub(channel).CreateToken(
                tokens_pb2.CreateTokenRequest(label="from-serve")
            )
        async with aiohttp.ClientSession() as http, http.get(f"{url}/api/tokens/list") as response:
            assert response.status == 200
            assert [r["id"] for r in (await response.json())["data"]] == [issued.token.uid]
            request_id = response.headers["x-request-id"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    access = [r for r in lines if r["logger"] == "link_assistant_router.access"]
    listed = next(r for r in access if r["route"] == "/api/tokens/list")
    assert listed["request_id"] == request_id and listed["status"] == 200 and listed["latency_ms"] >= 0
    assert issued.key not in err.decode() and "serve-test-secret" not in err.decode()
    with socket.socket() as probe:  # the admin port is closed after shutdown
        assert probe.connect_ex(("127.0.0.1", grpc_port)) != 0


async def test_serve_with_a_taken_admin_port_says_so_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = await serve(tmp_path, free_port(), taken.getsockname()[1])
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert "error: cannot listen for admin gRPC on 127.0.0.1:" in err.decode()
    assert "Traceback" not in err.decode()
