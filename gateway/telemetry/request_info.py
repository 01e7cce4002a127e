"""What one request tells the telemetry layer: the per-request record handlers fill in.

The telemetry middleware creates a `RequestInfo` per request and stores it under `REQUEST_INFO`;
proxy and translation handlers note the account, model, token usage, first byte and upstream errors
on it; when the request ends the middleware feeds it to metrics, the usage feed and the access log.
Handlers that run without the middleware (unit tests) get a detached record from `info_of`.
No I/O here and no metrics calls: noting things is a few attribute writes on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.telemetry.labels import Surface


@dataclass(slots=True)
class RequestInfo:
    request_id: str
    route: str
    surface: Surface | None
    started: float = field(default_factory=time.perf_counter)
    account: str | None = None
    model: str | None = None
    response_model: str | None = None
    """The model the upstream says answered (its body or first stream event), for traces."""
    streaming: bool = False
    first_token_s: float | None = None
    headers_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    upstream_errors: list[tuple[str, str]] = field(default_factory=list)
    rejection: str | None = None

    def mark_first_token(self) -> None:
        """Call when the first body chunk of a streamed answer goes to the client."""
        if self.first_token_s is None:
            self.first_token_s = time.perf_counter() - self.started

    def note_upstream_error(self, account: str, kind: str) -> None:
        """An upstream attempt failed (kind: "rate_limited", "overloaded", "server_error", "connection",
        "unauthorized", "quota_exhausted", ...); retries on another account each add one."""
        self.upstream_errors.append((account, kind))

    def note_usage(self, usage: Mapping[str, Any]) -> None:
        """Take an Anthropic `usage` object (non-streaming body, message_start or message_delta).

        Streaming sends input counts in message_start and cumulative output counts in message_delta,
        so each field keeps the largest value seen rather than summing.
        """
        self.input_tokens = max(self.input_tokens, _count(usage, "input_tokens"))
        self.output_tokens = max(self.output_tokens, _count(usage, "output_tokens"))
        self.cache_read_tokens = max(self.cache_read_tokens, _count(usage, "cache_read_input_tokens"))
        self.cache_write_tokens = max(self.cache_write_tokens, _count(usage, "cache_creation_input_tokens"))

    def note_sniffed(self, sniffer: Any) -> None:
        """Take the counts of a `gateway.proxy.sniff.UsageSniffer` that watched the response."""
        self.input_tokens = max(self.input_tokens, sniffer.input_tokens)
        self.output_tokens = max(self.output_tokens, sniffer.output_tokens)
        self.cache_read_tokens = max(self.cache_read_tokens, getattr(sniffer, "cache_read_tokens", 0))
        self.cache_write_tokens = max(self.cache_write_tokens, getattr(sniffer, "cache_write_tokens", 0))

    def chunk_observer(self, feed: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """Wrap a per-chunk callback so the first body chunk also marks time to first token."""

        def observe(chunk: bytes) -> None:
            if self.first_token_s is None:
                self.first_token_s = time.perf_counter() - self.started
            feed(chunk)

        return observe

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def _count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


REQUEST_INFO = web.RequestKey("telemetry_request_info", RequestInfo)


CURRENT_REQUEST: ContextVar[RequestInfo | None] = ContextVar("lar_current_request", default=None)
"""The request being served by this task (set by the telemetry middleware), for code that has no
`web.Request` at hand, such as the account pool reporting an upstream failure."""


def note_upstream_error(account: str, kind: str) -> None:
    """Count a failed upstream attempt against the current request; a no-op outside a request."""
    info = CURRENT_REQUEST.get()
    if info is not None:
        info.note_upstream_error(account, kind)


def note_rejection(reason: str) -> None:
    """The current request was refused by its key's budget (`reason` from a small fixed set)."""
    info = CURRENT_REQUEST.get()
    if info is not None:
        info.rejection = reason


def info_of(request: web.Request) -> RequestInfo:
    """The request's telemetry record; a detached one if the telemetry middleware is not installed."""
    info = request.get(REQUEST_INFO)
    if info is None:
        info = RequestInfo(request_id="", route="", surface=None)
        request[REQUEST_INFO] = info
    return info
