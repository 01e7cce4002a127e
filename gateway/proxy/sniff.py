"""Cheap looks into bodies we otherwise pass through untouched. Pure; no JSON parsing.

`sniff_model` finds the request's model for account selection; `UsageSniffer` picks token counts
out of response bytes (JSON or SSE) as they stream by, for per-token budgets.
"""

from __future__ import annotations

import re

_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_USAGE = re.compile(
    rb'"(input_tokens|output_tokens|cache_read_input_tokens|cache_creation_input_tokens)"\s*:\s*(\d{1,12})'
)
_TAIL = 64


def sniff_model(body: bytes) -> str | None:
    match = _MODEL.search(body)
    return match.group(1).decode("utf-8", "replace") if match else None


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
