"""Cheap looks into pass-through bodies: the model for routing, token usage for budgets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.exchange.sniff import UsageSniffer, sniff_model
from tests.support.fake_anthropic import message_events, message_json


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (b'{"model":"claude-opus-4-7","messages":[]}', "claude-opus-4-7"),
        (b'{"messages": [], "model" : "claude-x"}', "claude-x"),
        (b'{"messages":[{"role":"user","content":"say \\"model\\": \\"evil\\""}],"model":"m"}', "m"),
        (b'{"messages": []}', None),
        (b"", None),
        # SDKs send messages before model; a tool input naming a model must not be taken for it.
        (
            b'{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"spawn",'
            b'"input":{"model":"gpt-4o"}}]}],"model":"claude-x","metadata":{"model":"y"}}',
            "claude-x",
        ),
        (b'{"tools":[{"input_schema":{"properties":{"model":{"type":"string"}}}}],"model":"c"}', "c"),
        (b'{"messages":[{"input":{"model":"a"}}],"model":"b"', "a"),  # not JSON: first one, no error
        (b'{"messages":' + b"[" * 200_000 + b'{"model":"a"}' + b"]" * 200_000 + b',"model":"b"}', "a"),
    ],
    ids=lambda value: str(len(value)) if isinstance(value, bytes) else None,
)
def test_sniff_model(body: bytes, model: str | None) -> None:
    assert sniff_model(body) == model


STREAM = b"".join(message_events("m", "Hello there friend", input_tokens=1234, output_tokens=987))
JSON = json.dumps(message_json("m", "Hi", input_tokens=55, output_tokens=66)).encode()


@given(
    data=st.sampled_from([STREAM, JSON]), cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=25)
)
def test_usage_is_found_however_the_bytes_are_split(data: bytes, cuts: list[int]) -> None:
    points = sorted({c % (len(data) + 1) for c in cuts})
    sniffer = UsageSniffer()
    start = 0
    for point in [*points, len(data)]:
        sniffer.feed(data[start:point])
        start = point
    expected = (1234, 987) if data is STREAM else (55, 66)
    assert (sniffer.input_tokens, sniffer.output_tokens) == expected
