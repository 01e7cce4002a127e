"""Cheap looks into bodies we otherwise pass through untouched. Pure; JSON parsing only as a last resort.

`sniff_model` finds the request's model for account selection; `UsageSniffer` picks token counts
out of response bytes (JSON or SSE) as they stream by, for per-token budgets.
"""

from __future__ import annotations

import json
import re

from gateway.exchange.interface import Usage

_MAX_MODEL = 200
_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_USAGE = re.compile(
    rb'"(input_tokens|output_tokens|cache_read_input_tokens|cache_creation_input_tokens)"\s*:\s*(\d{1,12})'
)
_TAIL = 64


_MAX_TOKENS = re.compile(rb'"max_tokens"\s*:\s*(\d{1,9})\b')


def sniff_max_tokens(body: bytes) -> int:
    """The request's `max_tokens` (what a token budget holds while it runs); 0 when absent."""
    match = _MAX_TOKENS.search(body)
    return int(match.group(1)) if match else 0


def sniff_model(body: bytes) -> str | None:
    """The top-level `model`, for routing. A `"model"` key can also sit in a tool input or metadata
    object, and SDKs send `messages` before `model`, so a body naming several models is parsed to
    tell which is the request's (rare; the common body costs one byte count and one search)."""
    if body.count(b'"model"') > 1:
        found = _MODEL.findall(body)
        if len(found) > 1:
            return _parsed_model(body, found[0])
    match = _MODEL.search(body)
    return match.group(1).decode("utf-8", "replace") if match else None


def _parsed_model(body: bytes, first: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or nested too deep): the upstream refuses it anyway
        return first.decode("utf-8", "replace")
    model = payload.get("model") if isinstance(payload, dict) else None
    return model if isinstance(model, str) and 0 < len(model) <= _MAX_MODEL else None


class UsageSniffer:
    """Largest `input_tokens` / `output_tokens` seen (SSE usage counts are cumulative)."""

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk
        # Only look at chunks that can hold usage; most SSE deltas do not.
        if b"_tokens" in data:
            for name, value in _USAGE.findall(data):
                number = int(value)
                if name == b"input_tokens":
                    self.input_tokens = max(self.input_tokens, number)
                elif name == b"output_tokens":
                    self.output_tokens = max(self.output_tokens, number)
                elif name == b"cache_read_input_tokens":
                    self.cache_read_tokens = max(self.cache_read_tokens, number)
                else:
                    self.cache_write_tokens = max(self.cache_write_tokens, number)
        self._tail = data[-_TAIL:]

    @property
    def usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens, self.cache_read_tokens, self.cache_write_tokens)
