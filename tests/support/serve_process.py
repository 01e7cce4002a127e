"""Run the real gateway process (`python -m gateway.cli.main serve`) on 127.0.0.1:0 for a test.

    async with serve_process(env, cwd) as proc:
        ...  # proc.url, proc.stderr_lines
    proc.returncode  # after a graceful SIGTERM

stderr is drained continuously (so the process never blocks on a full pipe) and kept for asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

LISTENING = re.compile(r"Listening on (\S+):(\d+)( \(https\))?")
LISTENING_UNIX = re.compile(r"Listening on unix:(\S+)")


@dataclass
class ServeProcess:
    process: asyncio.subprocess.Process
    url: str = ""
    stderr_lines: list[str] = field(default_factory=list)
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


def serve_env(extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: PATH/HOME of this process plus what the test sets, nothing inherited."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    # No shutdown delay: no load balancer watches /ready here, and tests should not wait for one.
    return {
        **base,
        "ROUTER_HOST": "127.0.0.1",
        "ROUTER_PORT": "0",
        "ADMIN_GRPC_PORT": "off",
        "ROUTER_SHUTDOWN_DELAY": "0",
        **extra,
    }


async def _drain(stream: asyncio.StreamReader, sink: list[str], ready: asyncio.Future[str] | None) -> None:
    while True:
        line = await stream.readline()
        if not line:
            if ready is not None and not ready.done():
                ready.set_exception(RuntimeError("gateway exited before listening"))
            return
        text = line.decode("utf-8", "replace").rstrip("\n")
        sink.append(text)
        match = LISTENING.search(text)
        if match and ready is not None and not ready.done():
            scheme = "https" if match.group(3) else "http"
            ready.set_result(f"{scheme}://{match.group(1)}:{match.group(2)}")
        unix = LISTENING_UNIX.search(text)
        if unix and ready is not None and not ready.done():  # socket only: proc.url is `unix:PATH`
            ready.set_result(f"unix:{unix.group(1)}")


@asynccontextmanager
async def serve_process(
    env: Mapping[str, str],
    cwd: Path,
    args: tuple[str, ...] = (),
    startup_timeout: float = 20.0,
    command: tuple[str, ...] = ("gateway.cli.main", "serve"),
) -> AsyncIterator[ServeProcess]:
    """`command` is the module to run and its leading args (`("gateway.devrun",)` for `make run`)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *command,
        *args,
        env=serve_env(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    proc = ServeProcess(process)
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    assert process.stderr is not None
    assert process.stdout is not None
    drainer = asyncio.create_task(_drain(process.stderr, proc.stderr_lines, ready))
    out_drainer = asyncio.create_task(_drain(process.stdout, proc.stdout_lines, None))
    try:
        try:
            proc.url = await asyncio.wait_for(ready, startup_timeout)
        except (TimeoutError, RuntimeError) as exc:
            raise AssertionError(f"gateway did not start: {exc}\n{proc.stderr}") from exc
        yield proc
    finally:
        await proc.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(drainer, out_drainer), 5)
