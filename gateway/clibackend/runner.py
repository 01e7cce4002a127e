"""One `claude` subprocess: start it, hand it the prompt on stdin, read its output line by line.

Thin I/O. The prompt goes through stdin (never argv, where other local users could read it). The
process is always reaped: `close()` kills it if it is still running (timeout, client gone).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

LINE_LIMIT = 32 * 1024 * 1024  # one stream-json line holds a whole assistant message


class CliNotRunnable(Exception):
    """The binary is missing or not executable (message is safe to show)."""


class CliProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def start(cls, binary: str, args: Sequence[str], env: Mapping[str, str], cwd: str,
                    prompt: str) -> CliProcess:
        try:
            process = await asyncio.create_subprocess_exec(
                binary, *args, env=dict(env), cwd=cwd,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, limit=LINE_LIMIT, start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise CliNotRunnable(f"cannot run the claude CLI {binary!r}: {type(exc).__name__}") from exc
        assert process.stdin is not None
        try:
            process.stdin.write(prompt.encode("utf-8"))
            await process.stdin.drain()
            process.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # it exited early; its output (or exit code) says why
        return cls(process)

    async def readline(self) -> bytes:
        """The next output line, b"" at the end."""
        assert self._process.stdout is not None
        try:
            return await self._process.stdout.readline()
        except ValueError:  # a line over LINE_LIMIT: treat as the end of usable output
            return b""

    async def readline_within(self, seconds: float) -> bytes | None:
        """The next output line, b"" at the end, None when none came within `seconds`."""
        try:
            async with asyncio.timeout(seconds):
                return await self.readline()
        except TimeoutError:
            return None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def close(self) -> int | None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._process.wait()
        return self._process.returncode
