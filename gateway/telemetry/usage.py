"""The router's plain counters (GET /v1/usage, the seed's link_assistant_* metrics) and the live
per-request usage feed behind the gRPC WatchUsage stream.

Counting here is plain integer arithmetic on the hot path; OpenTelemetry reads these numbers
through observable instruments only when it collects. One instance per app, never module state.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write")


@dataclass
class UsageCounters:
    """Counters since process start. Keys are bounded label values, never token ids or text."""

    requests_total: int = 0
    errors_total: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    openai_chat_completions: int = 0
    openai_responses: int = 0
    anthropic_messages: int = 0
    tokens_issued: int = 0
    tokens_revoked: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    account_calls: dict[str, int] = field(default_factory=dict)
    token_usage: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(model label, account, token type) → tokens."""
    upstream_errors: dict[tuple[str, str], int] = field(default_factory=dict)
    """(account, kind) → failed upstream attempts."""
    budget_rejections: dict[str, int] = field(default_factory=dict)
    active_streams: int = 0

    def snapshot(self) -> dict[str, Any]:
        """The seed's /v1/usage JSON (status keys as strings, sorted), plus `token_usage` by type."""
        by_type = dict.fromkeys(TOKEN_TYPES, 0)
        for (_model, _account, kind), count in self.token_usage.items():
            by_type[kind] = by_type.get(kind, 0) + count
        return {
            "requests_total": self.requests_total,
            "errors_total": self.errors_total,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "openai_chat_completions": self.openai_chat_completions,
            "openai_responses": self.openai_responses,
            "anthropic_messages": self.anthropic_messages,
            "tokens_issued": self.tokens_issued,
            "tokens_revoked": self.tokens_revoked,
            "status_counts": {str(code): n for code, n in sorted(self.status_counts.items())},
            "account_calls": dict(sorted(self.account_calls.items())),
            "token_usage": by_type,
        }


@dataclass(frozen=True)
class UsageEvent:
    """One finished request, as pushed to usage watchers. No token ids, keys or prompt text."""

    time: float
    request_id: str
    route: str
    status: int
    account: str
    model: str
    duration_seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class UsageFeed:
    """Every finished request, numbered 1, 2, 3, ... in one bounded ring shared by all watchers.

    Publishing is O(1) whatever the number of watchers and never waits, so a slow watcher cannot
    slow requests. Each watcher keeps only a cursor: one that falls further behind than the ring
    holds skips to the oldest kept event and is told how many it lost. The same cursor lets a
    watcher that reconnects resume after the last sequence it saw, with nothing missed while the
    ring still holds it.
    """

    def __init__(self, keep: int = 4096) -> None:
        self._ring: deque[UsageEvent] = deque(maxlen=keep)
        self._last = 0
        self._wake = asyncio.Event()
        self._watchers = 0
        self.dropped_total = 0
        """Events lost by slow or late watchers, summed over all of them."""

    @property
    def watching(self) -> bool:
        return self._watchers > 0

    @property
    def last_sequence(self) -> int:
        return self._last

    def publish(self, event: UsageEvent) -> None:
        self._ring.append(event)
        self._last += 1
        if self._watchers:
            wake, self._wake = self._wake, asyncio.Event()
            wake.set()

    def _start(self, after: int | None) -> int:
        if after is None:
            return self._last
        # A sequence beyond the newest means this process restarted since: replay what it kept.
        return after if after <= self._last else 0

    async def watch(self, after: int | None = None) -> AsyncIterator[tuple[int, UsageEvent, int]]:
        """Yield (sequence, event, events lost before it) from after `after` (None: from now on),
        until the consumer stops iterating."""
        cursor = self._start(after)
        self._watchers += 1
        try:
            while True:
                if cursor >= self._last:
                    await self._wake.wait()
                    continue
                oldest = self._last - len(self._ring) + 1
                lost = max(0, oldest - cursor - 1)
                cursor = max(cursor, oldest - 1) + 1
                self.dropped_total += lost
                yield cursor, self._ring[cursor - oldest], lost
        finally:
            self._watchers -= 1
