"""Token usage as upstreams report it, read into the one `Usage` record. Pure.

Anthropic reports `input_tokens` (not cached), `cache_read_input_tokens`,
`cache_creation_input_tokens` and `output_tokens`; OpenAI-format upstreams report
`prompt_tokens` (cached included) with `prompt_tokens_details.cached_tokens`, and
`completion_tokens` (Chat) or `input_tokens`/`output_tokens` (Responses). Both land in `Usage`,
whose `budget_input` is the rule every surface charges by.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.exchange.interface import Usage


def _count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def anthropic_usage(usage: Any) -> Usage:
    """An Anthropic `usage` object (a body's, or one merged from a stream's events)."""
    if not isinstance(usage, Mapping):
        return Usage()
    return Usage(
        input=_count(usage, "input_tokens"),
        output=_count(usage, "output_tokens"),
        cache_read=_count(usage, "cache_read_input_tokens"),
        cache_write=_count(usage, "cache_creation_input_tokens"),
    )


def openai_usage(prompt: int, cached: int, completion: int) -> Usage:
    """OpenAI-format counts: `prompt` includes the `cached` (read) tokens."""
    cached = min(cached, prompt)
    return Usage(input=prompt - cached, output=completion, cache_read=cached)
