"""A de-duplicating delay queue of object keys, with per-key exponential backoff (thread-safe).

Like client-go's rate-limited work queue, reduced to what the controller needs: a key queued many times
is reconciled once; a failing key comes back later and later, up to `max_delay`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Key = tuple[str, str]


class WorkQueue:
    def __init__(
        self, base_delay: float = 0.2, max_delay: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._due: dict[Key, float] = {}
        self._failures: dict[Key, int] = {}
        self._cond = threading.Condition()
        self._clock = clock
        self._base = base_delay
        self._max = max_delay
        self._closed = False

    def add(self, key: Key, delay: float = 0.0) -> None:
        """Queue `key` to be processed after `delay` seconds (sooner if already queued sooner)."""
        with self._cond:
            due = self._clock() + delay
            self._due[key] = min(due, self._due.get(key, due))
            self._cond.notify()

    def retry(self, key: Key) -> float:
        """Queue a failed key again with backoff; returns the delay chosen."""
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        delay = min(self._max, self._base * 2.0**failures)
        self.add(key, delay)
        return delay

    def forget(self, key: Key) -> None:
        """The key succeeded: its next failure starts the backoff from the beginning."""
        with self._cond:
            self._failures.pop(key, None)

    def get(self, timeout: float) -> Key | None:
        """The next due key, waiting at most `timeout` seconds; None on timeout or close."""
        deadline = self._clock() + timeout
        with self._cond:
            while not self._closed:
                now = self._clock()
                ready = [k for k, due in self._due.items() if due <= now]
                if ready:
                    key = min(ready, key=lambda k: self._due[k])
                    del self._due[key]
                    return key
                if now >= deadline:
                    return None
                wake = min([deadline, *self._due.values()])
                self._cond.wait(max(0.0, min(wake - now, 1.0)))
            return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._due)
