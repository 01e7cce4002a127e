"""The per-request access-log record and the request-id rules.

Pure: builds plain data from a finished `RequestInfo`; never touches aiohttp or logging handlers.
The record carries bounded, non-secret facts only: no query strings (they may hold keys), no
headers, no prompt text, no token ids. The process's JSON log formatter (`gateway.logging`) adds
the timestamp, level and logger name and writes one JSON object per line.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from gateway.telemetry.request_info import RequestInfo

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_MAX_MODEL = 100


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def incoming_request_id(headers: Mapping[str, str]) -> str:
    """The client's `x-request-id` when it is a short, safe token; otherwise a fresh id."""
    given = headers.get("x-request-id")
    if given and _SAFE_ID.match(given):
        return given
    return new_request_id()


def upstream_request_id(headers: Mapping[str, str]) -> str | None:
    """The id an upstream put on its response (`request-id` from Anthropic, `x-request-id` from
    OpenAI-style servers), if it is safe to echo."""
    for name in ("request-id", "x-request-id"):
        value = headers.get(name)
        if value and _SAFE_ID.match(value):
            return value
    return None


def access_record(info: RequestInfo, method: str, status: int, duration_s: float) -> dict[str, object]:
    """The fields of one access-log line for a finished request."""
    record: dict[str, object] = {
        "request_id": info.request_id,
        "method": method,
        "route": info.route,
        "status": status,
        "account": info.account,
        "model": info.model[:_MAX_MODEL] if info.model else None,
        "latency_ms": round(duration_s * 1000, 3),
        "stream": info.streaming,
        "input_tokens": info.input_tokens,
        "output_tokens": info.output_tokens,
        "cache_read_tokens": info.cache_read_tokens,
        "cache_write_tokens": info.cache_write_tokens,
    }
    if info.streaming and info.first_token_s is not None:
        record["ttft_ms"] = round(info.first_token_s * 1000, 3)
    if info.upstream_errors:
        record["upstream_errors"] = [kind for _account, kind in info.upstream_errors]
    if info.rejection:
        record["rejection"] = info.rejection
    return record
