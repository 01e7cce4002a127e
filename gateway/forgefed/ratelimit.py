"""A token bucket per client address for the public ActivityPub routes.

Pure: the caller passes the monotonic time, so tests move time by hand. Each address may burst up
to its per-minute allowance and refills continuously; the table is bounded (least recently seen
addresses are dropped first), so a flood of addresses cannot grow it without limit.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_ADDRESSES = 10_000


class RateLimiter:
    def __init__(self, per_minute: int, max_addresses: int = MAX_ADDRESSES) -> None:
        self.per_minute = per_minute
        self._max = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def admit(self, address: str, now: float) -> float | None:
        """None if the request may go on; else the seconds until one more would be admitted."""
        if self.per_minute <= 0:
            return None
        rate = self.per_minute / 60.0
        tokens, seen = self._buckets.pop(address, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - seen) * rate)
        if tokens < 1.0:
            self._buckets[address] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[address] = (tokens - 1.0, now)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return None
