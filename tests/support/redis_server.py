"""A real `redis-server` (Debian's) on 127.0.0.1 and a free port, data in a temp dir, for tests.

    async with redis_server(tmp_path) as url:   # redis://127.0.0.1:<port>/0
        ...

Tests that need it are skipped when `redis-server` is not installed (`.ci/run` installs it).
The server is stopped by its own PID when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError


def require_redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def redis_server(
    workdir: Path, password: str | None = None, port: int | None = None
) -> AsyncIterator[str]:
    binary = require_redis_server()
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(workdir),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
    ]
    if password:
        args += ["--requirepass", password]
    process = await asyncio.create_subprocess_exec(
        binary, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    auth = f":{password}@" if password else ""
    url = f"redis://{auth}127.0.0.1:{port}/0"
    try:
        await _wait_ready(url, process)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=5)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_ready(url: str, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):  # up to ~10 s
        if process.returncode is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        client = aioredis.Redis.from_url(url)
        try:
            if await client.ping():
                return
        except (RedisError, OSError):
            pass
        finally:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()
        await asyncio.sleep(0.05)
    raise RuntimeError("redis-server did not answer PING")
