"""The stream-head check: which opening frames are held back, which error ends them, any chunking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.accounts.streamhead import HeadDecision, StreamHead
from tests.support.fake_anthropic import error_json, message_events, sse_frame

EVENTS = message_events("claude-x", "hello there world")
OVERLOADED = sse_frame("error", error_json("overloaded_error", "Overloaded"))
CASES = {
    "normal": (b"".join(EVENTS), HeadDecision.COMMIT, None),
    "error after message_start": (EVENTS[0] + OVERLOADED, HeadDecision.ERROR, "overloaded_error"),
    "error after ping": (b"".join(EVENTS[:3]) + OVERLOADED, HeadDecision.ERROR, "overloaded_error"),
    "error after first delta": (b"".join(EVENTS[:4]) + OVERLOADED, HeadDecision.COMMIT, None),
    "crlf framing": (b"".join(EVENTS).replace(b"\n", b"\r\n"), HeadDecision.COMMIT, None),
    "bare error data": (
        b'data: {"type": "error", "error": {"type": "api_error"}}\n\n',
        HeadDecision.ERROR,
        "api_error",
    ),
    "opening only": (b"".join(EVENTS[:3]), HeadDecision.PENDING, None),
}


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(st.sampled_from(sorted(CASES)), st.lists(st.integers(0, 10_000), max_size=12))
def test_decision_does_not_depend_on_chunking(case: str, cuts: list[int]) -> None:
    data, decision, error_type = CASES[case]
    head = StreamHead()
    for chunk in split(data, cuts):
        head.feed(chunk)
    assert head.decision is decision
    assert head.error_type == error_type
    assert head.buffered == data  # everything read is kept, to hand on untouched


def test_a_huge_opening_is_committed_rather_than_buffered_forever() -> None:
    head = StreamHead(limit=1024)
    ping = sse_frame("ping", {"type": "ping"})
    for _ in range(200):
        if head.feed(ping) is not HeadDecision.PENDING:
            break
    assert head.decision is HeadDecision.COMMIT and len(head.buffered) < 1100
