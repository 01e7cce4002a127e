"""Large bodies get the identity block without a JSON round trip on the event loop.

Before: `inject_identity` parsed and re-serialised every OAuth-bound body; a 31 MB body cost 1.7 s
of event-loop CPU, and four at once stalled `/health` for 6.5 s. A large body with no `"system"`
key is now spliced: bytes untouched apart from the new field, milliseconds of work.
"""

from __future__ import annotations

import json
import time

import pytest

from gateway.exchange.identity import IDENTITY, SPLICE_MIN_BYTES, inject_identity


def big_body(prefix: bytes = b"", **fields: object) -> bytes:
    payload = {"model": "claude-test-1", "max_tokens": 5, **fields}
    payload["messages"] = [{"role": "user", "content": "x" * 1000} for _ in range(SPLICE_MIN_BYTES // 900)]
    return prefix + json.dumps(payload).encode()


@pytest.mark.parametrize("prefix", [b"", b" \n\t"])
def test_a_large_body_without_system_is_spliced_not_reserialised(prefix: bytes) -> None:
    body = big_body(prefix)
    injected = inject_identity(body)
    assert injected is not None
    payload = json.loads(injected)
    assert payload["system"] == [{"type": "text", "text": IDENTITY}]
    assert {k: v for k, v in payload.items() if k != "system"} == json.loads(body)
    assert injected.endswith(body[len(prefix) + 1 :])  # everything after the brace byte for byte
    assert inject_identity(injected) is None  # idempotent: it now carries the identity


def test_a_large_body_with_a_system_field_still_gets_it_first() -> None:
    injected = inject_identity(big_body(system="be brief"))
    assert injected is not None
    assert json.loads(injected)["system"][:2] == [
        {"type": "text", "text": IDENTITY},
        {"type": "text", "text": "be brief"},
    ]


def test_thirty_megabytes_cost_milliseconds_of_cpu() -> None:
    body = json.dumps(
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 1000}] * 30_000}
    ).encode()
    assert len(body) > 30_000_000
    started = time.process_time()
    for _ in range(4):
        assert inject_identity(body) is not None
    assert time.process_time() - started < 0.5  # a JSON round trip took about 1.7 s each
