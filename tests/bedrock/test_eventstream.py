"""The event-stream encoder, checked against botocore's own decoder and its published vectors."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.bedrock.eventstream import (
    EncodeError,
    ExceptionType,
    HeaderValue,
    Int8,
    Int16,
    Int64,
    chunk_message,
    encode_message,
    exception_message,
)


def decode(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(m.headers), m.payload) for m in buffer]


# botocore's unit-test vectors and the Bedrock-shaped one: (headers, payload, exact bytes).
GOLDEN: list[tuple[list[tuple[str, HeaderValue]], bytes, bytes]] = [
    ([], b"", bytes.fromhex("000000100000000005c248eb7d98c8ff")),
    (
        [("content-type", "application/json")],
        b"{'foo':'bar'}",
        b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\x0ccontent-type\x07\x00\x10application/json"
        b"{'foo':'bar'}\x8d\x9c\x08\xb1",
    ),
    (
        [(":message-type", "error"), (":error-code", "code"), (":error-message", "message")],
        b"",
        bytes.fromhex(
            "0000005200000042bf23637e0d3a6d6573736167652d74797065070005"
            "6572726f720b3a6572726f722d636f6465070004636f64650e3a6572726f"
            "722d6d6573736167650700076d6573736167656b6cea3d"
        ),
    ),
]

BEDROCK_STOP = bytes.fromhex(
    "000000870000004b87ea2bf30b3a6576656e742d747970650700056368756e6b0d3a636f6e74656e"
    "742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d7479706507"
    "00056576656e747b226279746573223a2265794a306558426c496a6f696257567a6332466e5a5639"
    "7a64473977496e303d227dba48ab22"
)


@pytest.mark.parametrize(("headers", "payload", "expected"), GOLDEN)
def test_encoder_reproduces_botocore_vectors(
    headers: list[tuple[str, HeaderValue]], payload: bytes, expected: bytes
) -> None:
    assert encode_message(headers, payload) == expected
    [(decoded_headers, decoded_payload)] = decode(expected)
    assert decoded_headers == dict(headers) and decoded_payload == payload


def test_chunk_is_the_bedrock_frame_byte_for_byte() -> None:
    event = b'{"type":"message_stop"}'
    assert chunk_message(event) == BEDROCK_STOP
    [(headers, payload)] = decode(BEDROCK_STOP)
    assert headers == {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    assert base64.b64decode(json.loads(payload)["bytes"]) == event


def test_exception_message_decodes_as_bedrock_exception() -> None:
    [(headers, payload)] = decode(exception_message(ExceptionType.THROTTLING, "Too many tokens"))
    assert headers == {
        ":exception-type": "throttlingException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert json.loads(payload) == {"message": "Too many tokens"}


def test_every_header_type_round_trips() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers: list[tuple[str, HeaderValue]] = [
        ("t", True),
        ("f", False),
        ("i8", Int8(-7)),
        ("i16", Int16(-300)),
        ("i32", 70000),
        ("i64", Int64(2**40)),
        ("b", b"\x00\xff"),
        ("s", "héllo"),
        ("ts", when),
        ("u", ident),
    ]
    [(decoded, _)] = decode(encode_message(headers, b"x"))
    assert decoded == {
        "t": True,
        "f": False,
        "i8": -7,
        "i16": -300,
        "i32": 70000,
        "i64": 2**40,
        "b": b"\x00\xff",
        "s": "héllo",
        "ts": int(when.timestamp() * 1000),
        "u": ident.bytes,
    }


@pytest.mark.parametrize(
    "headers",
    [[("", "x")], [("n" * 256, "x")], [("big", "x" * 70000)], [("i", Int8(200))], [("i", 2**31)]],
)
def test_unframable_headers_are_refused(headers: list[tuple[str, HeaderValue]]) -> None:
    with pytest.raises(EncodeError):
        encode_message(headers, b"")


names = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
values: st.SearchStrategy[HeaderValue] = st.one_of(
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
    st.builds(Int8, st.integers(-128, 127)),
    st.builds(Int16, st.integers(-(2**15), 2**15 - 1)),
    st.builds(Int64, st.integers(-(2**63), 2**63 - 1)),
    st.binary(max_size=60),
    st.text(max_size=60),
    st.uuids(),
)


def _plain(value: HeaderValue) -> object:
    if isinstance(value, Int8 | Int16 | Int64):
        return value.value
    if isinstance(value, uuid.UUID):
        return value.bytes
    return value


# Generation is slow on a loaded machine; the property, not the clock, is under test.
RELAXED = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=60)


@RELAXED
@given(st.dictionaries(names, values, max_size=6), st.binary(max_size=500))
def test_round_trip_through_botocore(headers: dict[str, HeaderValue], payload: bytes) -> None:
    [(decoded, decoded_payload)] = decode(encode_message(headers.items(), payload))
    assert decoded == {name: _plain(value) for name, value in headers.items()}
    assert decoded_payload == payload


@RELAXED
@given(st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=6), st.data())
def test_chunks_survive_any_split_of_the_byte_stream(events: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(chunk_message(e) for e in events)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    buffer = EventStreamBuffer()
    got: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        buffer.add_data(stream[start:cut])
        start = cut
        got += [base64.b64decode(json.loads(m.payload)["bytes"]) for m in buffer]
    assert got == events
