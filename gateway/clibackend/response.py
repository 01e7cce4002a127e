"""An upstream-response look-alike whose body comes from a running `claude` process.

The exchange relay reads an upstream answer through
`status`, `reason`, `headers`, `content.readany()` / `content.read(n)`, `release()` and `close()`.
`CliResponse` offers exactly that, so a CLI answer flows through the same relays, usage sniffing,
metrics and OpenAI translation as a direct one. `close()` stops the pump (and so the process).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy


class CliBody:
    """A byte pipe: the pump feeds it, the relay drains it; `end()` marks the end of the body."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._leftover = b""
        self._eof = False

    def feed(self, data: bytes) -> None:
        if data:
            self._queue.put_nowait(data)

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def readany(self) -> bytes:
        if self._leftover:
            data, self._leftover = self._leftover, b""
            return data
        if self._eof:
            return b""
        chunk = await self._queue.get()
        if chunk is None:
            self._eof = True
            return b""
        return chunk

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts = []
            while chunk := await self.readany():
                parts.append(chunk)
            return b"".join(parts)
        chunk = await self.readany()
        data, self._leftover = chunk[:n], chunk[n:]
        return data


class CliResponse:
    reason = "OK"

    def __init__(
        self, status: int, headers: Mapping[str, str], body: CliBody, pump: asyncio.Task[None] | None = None
    ) -> None:
        self.status = status
        self.headers = CIMultiDictProxy(CIMultiDict(headers))
        self.content = body
        self._pump = pump

    def release(self) -> None:
        self.close()

    def close(self) -> None:
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()

    async def wait_closed(self) -> None:
        if self._pump is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
