"""The SSE codec: any chunking of the bytes gives the same events; encode/decode round-trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.openai.sse import SseDecoder, SseEvent, decode_all, encode, encode_all

names = st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\r\n:"), min_size=1, max_size=12)
datas = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=40)
events = st.lists(st.builds(SseEvent, datas, names), max_size=8)


@given(events)
def test_encode_then_decode_round_trips(evs: list[SseEvent]) -> None:
    assert decode_all(encode_all(evs)) == evs


@given(events, st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=20))
def test_decoding_is_independent_of_chunk_boundaries(evs: list[SseEvent], sizes: list[int]) -> None:
    payload = encode_all(evs).replace(b"\n", b"\r\n")  # also splits inside \r\n and inside UTF-8 runes
    decoder = SseDecoder()
    got: list[SseEvent] = []
    position, turn = 0, 0
    while position < len(payload):
        size = sizes[turn % len(sizes)]
        got += decoder.feed(payload[position : position + size])
        position, turn = position + size, turn + 1
    assert got + decoder.finish() == evs


def test_comments_ids_and_multiline_data() -> None:
    payload = b": keep-alive\nid: 7\nretry: 100\nevent: delta\ndata: line one\ndata:line two\n\n"
    assert decode_all(payload) == [SseEvent("line one\nline two", "delta")]


def test_a_final_event_without_its_blank_line_is_still_delivered() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.finish() == [SseEvent("[DONE]")]


def test_encode_writes_event_line_only_when_named() -> None:
    assert encode(SseEvent('{"a":1}')) == b'data: {"a":1}\n\n'
    assert encode(SseEvent("x", "ping")) == b"event: ping\ndata: x\n\n"
