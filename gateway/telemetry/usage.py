"""The router's plain counters (GET /v1/usage, the seed's link_assistant_* metrics) and the live
per-request usage feed behind the gRPC WatchUsage stream.

Counting here is plain integer arithmetic on the hot path; OpenTelemetry reads these numbers
through observable instruments only when it collects. One instance per app, never module state.
"""

from __future__ import annotations

import asyncio
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


@dataclass
class _Subscriber:
    queue: asyncio.Queue[UsageEvent]
    dropped: int = 0


class UsageFeed:
    """Fan-out of usage events to watchers, each with a bounded queue: a slow watcher loses events
    (and is told how many) instead of holding memory or slowing requests."""

    def __init__(self, queue_size: int = 1024) -> None:
        self._queue_size = queue_size
        self._subscribers: list[_Subscriber] = []

    @property
    def watching(self) -> bool:
        return bool(self._subscribers)

    def publish(self, event: UsageEvent) -> None:
        for sub in self._subscribers:
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.dropped += 1

    async def watch(self) -> AsyncIterator[tuple[UsageEvent, int]]:
        """Yield (event, events dropped before it) until the consumer stops iterating."""
        sub = _Subscriber(asyncio.Queue(self._queue_size))
        self._subscribers.append(sub)
        try:
            while True:
                event = await sub.queue.get()
                dropped, sub.dropped = sub.dropped, 0
                yield event, dropped
        finally:
            self._subscribers.remove(sub)
