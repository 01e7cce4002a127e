"""What one request tells the telemetry layer: the per-request record handlers fill in.

The telemetry middleware creates a `RequestInfo` per request and stores it under `REQUEST_INFO`;
the exchange pipeline, which holds it for the request's whole life, notes the account, model, token
usage, first byte, failed upstream attempts and budget rejections on it (lower layers return
verdicts, they never write here); when the request ends the middleware feeds it to metrics, the
usage feed and the access log.
Handlers that run without the middleware (unit tests) get a detached record from `info_of`.
No I/O here and no metrics calls: noting things is a few attribute writes on the hot path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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

    def note_counts(self, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> None:
        """Take the token counts of the answer (the exchange pipeline settles them once, at the end)."""
        self.input_tokens = max(self.input_tokens, input_tokens)
        self.output_tokens = max(self.output_tokens, output_tokens)
        self.cache_read_tokens = max(self.cache_read_tokens, cache_read)
        self.cache_write_tokens = max(self.cache_write_tokens, cache_write)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


REQUEST_INFO = web.RequestKey("telemetry_request_info", RequestInfo)


def info_of(request: web.Request) -> RequestInfo:
    """The request's telemetry record; a detached one if the telemetry middleware is not installed."""
    info = request.get(REQUEST_INFO)
    if info is None:
        info = RequestInfo(request_id="", route="", surface=None)
        request[REQUEST_INFO] = info
    return info
