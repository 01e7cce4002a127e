"""Token counts in an OpenAI-format answer (JSON or SSE), read as the bytes stream by. Pure.

The openai-compatible path relays bodies unchanged, so budgets are charged from a cheap look at the
bytes: `prompt_tokens`/`completion_tokens` (Chat Completions) or `input_tokens`/`output_tokens`
(Responses), and `cached_tokens` of either. Counts are cumulative in streams, so the largest value
seen wins. `usage` states them by the exchange's one rule (prompt tokens include cached ones).
"""

from __future__ import annotations

import re

from gateway.exchange.interface import Usage
from gateway.exchange.usage import openai_usage

_USAGE = re.compile(
    rb'"(prompt_tokens|completion_tokens|input_tokens|output_tokens|cached_tokens)"\s*:\s*(\d{1,12})'
)
_TAIL = 64
_INPUT = (b"prompt_tokens", b"input_tokens")


class OpenAIUsageSniffer:
    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.cached_tokens = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk
        if b"_tokens" in data:
            for name, value in _USAGE.findall(data):
                if name in _INPUT:
                    self.input_tokens = max(self.input_tokens, int(value))
                elif name == b"cached_tokens":
                    self.cached_tokens = max(self.cached_tokens, int(value))
                else:
                    self.output_tokens = max(self.output_tokens, int(value))
        self._tail = data[-_TAIL:]

    @property
    def usage(self) -> Usage:
        return openai_usage(self.input_tokens, self.cached_tokens, self.output_tokens)
