"""Connection guards on the real `serve` process: header-read timeout, keep-alive idle timeout, a cap.

Before: connections trickling header bytes (slowloris) stayed open for 85 s and more, idle kept-alive
connections for an hour (aiohttp's default), and there was no limit on open connections.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dsl.config.loader import load_config
from gateway.http.connections import ConnectionLimits
from tests.support.serve_process import ServeProcess, serve_process

CONFIG = "server:\n  header-timeout 1s\n  keepalive-timeout 2s\n  max-connections 150\n"


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[ServeProcess]:
    (tmp_path / "router.lino").write_text(CONFIG)
    env = {"TOKEN_SECRET": "connections-test", "DATA_DIR": str(tmp_path / "data")}
    async with serve_process(env, tmp_path, ("--config", str(tmp_path / "router.lino"))) as proc:
        yield proc


def address(proc: ServeProcess) -> tuple[str, int]:
    host, port = proc.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


async def read_all(reader: asyncio.StreamReader, limit: float = 10.0) -> bytes:
    return await asyncio.wait_for(reader.read(), limit)  # until the server closes


async def test_slowloris_connections_are_reaped_after_the_header_timeout(gateway: ServeProcess) -> None:
    host, port = address(gateway)
    started = time.monotonic()
    conns = [await asyncio.open_connection(host, port) for _ in range(100)]

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[bytes, float]:
        answer = asyncio.ensure_future(read_all(reader))  # read while trickling: the 408 may come any time
        writer.write(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
        for _ in range(40):  # one more header byte every 0.1 s: would take 4 s
            await asyncio.wait([answer], timeout=0.1)
            if answer.done():
                break
            writer.write(b"X")
        got = await answer
        elapsed = time.monotonic() - started
        writer.close()
        return got, elapsed

    results = await asyncio.gather(*(trickle(r, w) for r, w in conns))
    for answer, elapsed in results:
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer[:80]
        assert b"request headers not received within 1s" in answer
        assert 0.9 <= elapsed < 3.5  # reaped at the timeout, not at the end of the trickle
    await health_ok(gateway)  # the gateway kept serving


async def health_ok(proc: ServeProcess) -> None:
    reader, writer = await asyncio.open_connection(*address(proc))
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = await read_all(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


async def test_an_idle_kept_alive_connection_is_closed_and_a_prompt_one_is_served(
    gateway: ServeProcess,
) -> None:
    reader, writer = await asyncio.open_connection(*address(gateway))
    for _ in range(3):  # requests 0.6 s apart: each re-arms the timers, none is cut
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.split(b"\r\n")
        length = int(next(line for line in lines if line.lower().startswith(b"content-length"))[15:])
        await reader.readexactly(length)
        assert head.startswith(b"HTTP/1.1 200")
        await asyncio.sleep(0.6)
    idle_from = time.monotonic()
    assert await read_all(reader) == b""  # closed by the server, without a response
    assert 1.2 <= time.monotonic() - idle_from < 4.0
    writer.close()


async def test_connections_beyond_the_cap_get_a_clear_503(gateway: ServeProcess) -> None:
    host, port = address(gateway)
    held = [await asyncio.open_connection(host, port) for _ in range(150)]
    await asyncio.sleep(0.2)
    reader, writer = await asyncio.open_connection(host, port)
    answer = await read_all(reader, 5)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable") and b"Retry-After: 1" in head
    error = json.loads(body)["error"]
    assert error["type"] == "overloaded_error" and "too many open connections (limit 150)" in error["message"]
    for held_reader, held_writer in held:  # the held ones are reaped by the header timeout
        assert (await read_all(held_reader)).startswith(b"HTTP/1.1 408")
        held_writer.close()
    await health_ok(gateway)  # room again


def test_the_settings_have_defaults_in_the_usual_range() -> None:
    limits = ConnectionLimits()
    assert (limits.header_timeout, limits.keepalive_timeout) == (10.0, 75.0)
    server = load_config(CONFIG).server
    assert (server.header_timeout, server.keepalive_timeout, server.max_connections) == (1.0, 2.0, 150)
