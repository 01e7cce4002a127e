"""Read a gateway's Prometheus exposition in tests: fetch it, and index its samples by name+labels.

_, _, text = await get_text(f"{gw.url}/metrics")
assert series(text)[("link_assistant_requests_total", frozenset())] == 3
"""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def series(text: str) -> Series:
    """(sample name, frozenset of label pairs) -> value, for every sample in the exposition."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def get_text(url: str) -> tuple[int, str, str]:
    """GET `url`: status, content type and body text."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("content-type", ""), await response.text()
