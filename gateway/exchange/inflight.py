"""Streams being relayed right now, so a shutdown can let them finish and then end them cleanly.

`track()` marks the current task for the length of a relay. At shutdown, `drain(grace)` waits until
no stream is left or the grace period is over, then cancels the rest: each relay answers the
cancellation with an SSE `error` event, so clients learn why the stream ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

POLL_SECONDS = 0.05
CANCEL_WAIT_SECONDS = 2.0


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def drain(self, grace: float) -> int:
        """Wait up to `grace` seconds for tracked streams; cancel what is left; how many were cut."""
        deadline = time.monotonic() + grace
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        left = [t for t in self._tasks if not t.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=CANCEL_WAIT_SECONDS)
        return len(left)
