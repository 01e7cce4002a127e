"""One `claude` subprocess: start it, hand it the prompt on stdin, read its output line by line.

Thin I/O. The prompt goes through stdin and the system prompt through a private file in the run's
scratch home (never argv, where other local users could read it and one argument holds at most
128 KiB). The process is always reaped: `close()` kills it if it is still running (timeout, client
gone) and removes the system prompt file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

LINE_LIMIT = 32 * 1024 * 1024  # one stream-json line holds a whole assistant message


class CliNotRunnable(Exception):
    """The binary is missing or not executable (message is safe to show)."""


class CliProcess:
    def __init__(self, process: asyncio.subprocess.Process, system_file: Path | None = None) -> None:
        self._process = process
        self._system_file = system_file

    @classmethod
    async def start(
        cls,
        binary: str,
        args: Sequence[str],
        env: Mapping[str, str],
        cwd: str,
        prompt: str,
        system: str | None = None,
    ) -> CliProcess:
        system_file = _private_file(Path(cwd), system) if system is not None else None
        if system_file is not None:
            args = (*args, "--system-prompt-file", str(system_file))
        try:
            process = await asyncio.create_subprocess_exec(
                binary,
                *args,
                env=dict(env),
                cwd=cwd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                limit=LINE_LIMIT,
                start_new_session=True,
            )
        except OSError as exc:  # missing, not executable, not a binary, arguments too long...
            _remove(system_file)
            raise CliNotRunnable(f"cannot run the claude CLI {binary!r}: {type(exc).__name__}") from exc
        assert process.stdin is not None
        try:
            process.stdin.write(prompt.encode("utf-8"))
            await process.stdin.drain()
            process.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # it exited early; its output (or exit code) says why
        return cls(process, system_file)

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
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._process.wait()
        finally:  # also when the wait is cancelled: the prompt file must not outlive the run
            _remove(self._system_file)
            self._system_file = None
        return self._process.returncode


def _private_file(directory: Path, text: str) -> Path:
    """A new file only this user can read, holding `text` (one per run: runs share a home)."""
    path = directory / f"system-prompt-{uuid.uuid4().hex}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _remove(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()
