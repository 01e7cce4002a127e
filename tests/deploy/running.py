"""Start a gateway the way a deployment would (a shell command line, its env) and wait until /ready."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp


async def wait_ready(http: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process) -> str:
    """Poll GET /ready (bounded, about 20 s) until 200; fail with the last answer and the output."""
    text = ""
    for _ in range(200):
        if proc.returncode is not None:
            break
        try:
            async with http.get(url + "/ready") as response:
                text = await response.text()
                if response.status == 200:
                    return text
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    out = (await proc.stdout.read()).decode() if proc.stdout and proc.returncode is not None else ""
    raise AssertionError(f"gateway never became ready: {text} {out}")


@contextlib.asynccontextmanager
async def running(
    argv: list[str], env: Mapping[str, str], cwd: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `argv` in its own session; SIGTERM to the whole group at the end (SIGKILL after 20 s)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=dict(env), cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
