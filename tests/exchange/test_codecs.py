"""The exchange's pure pieces: the identity codec, the translated-stream codec, the usage rule."""

from __future__ import annotations

import json

import pytest

from gateway.errors import GatewayError
from gateway.exchange.interface import Usage
from gateway.exchange.passthrough import PassThroughCodec
from gateway.exchange.sniff import UsageSniffer
from gateway.exchange.usage import anthropic_usage, openai_usage
from gateway.openai.chat_stream import ChatStreamTranslator
from gateway.openai.sse import decode_all
from gateway.openai.streaming import TranslatingCodec
from tests.support.anthropic_wire import message_events

CUT = GatewayError(502, "api_error", "Upstream stream interrupted")


def test_the_identity_codec_hands_each_chunk_on_untouched_and_reads_usage() -> None:
    codec = PassThroughCodec(UsageSniffer(), sse=True)
    frames = message_events("m", "Hello there", input_tokens=12, output_tokens=7)
    out = [codec.feed(frame) for frame in frames]
    assert all(a is b for a, b in zip(out, frames, strict=True))  # the same objects: no copy
    assert codec.finish() == b"" and not codec.done
    assert codec.usage == Usage(input=12, output=7)


@pytest.mark.parametrize(
    ("last", "prefix"),
    [(b"event: ping\ndata: {}\n\n", b""), (b'event: content_block_delta\ndata: {"ty', b"\n\n")],
    ids=["after a whole frame", "inside a frame"],
)
def test_a_broken_event_stream_ends_with_an_error_event_of_its_own(last: bytes, prefix: bytes) -> None:
    codec = PassThroughCodec(None, sse=True)
    codec.feed(last)
    frame = codec.fail(CUT)
    assert frame is not None and frame.startswith(prefix + b"event: error\n")
    assert json.loads(frame.split(b"data: ", 1)[1]) == {
        "type": "error",
        "error": {"type": "api_error", "message": "Upstream stream interrupted"},
    }


def test_a_broken_plain_body_has_no_in_band_error_so_the_connection_is_cut() -> None:
    codec = PassThroughCodec(None, sse=False)
    codec.feed(b'{"id": "msg_')
    assert codec.fail(CUT) is None
    assert codec.usage == Usage()


def test_the_translated_codec_accepts_any_chunking_and_ends_the_client_stream() -> None:
    body = b"".join(message_events("m", "one two three", input_tokens=3, output_tokens=4))
    whole = TranslatingCodec(ChatStreamTranslator(1))
    at_once = whole.feed(body) + whole.finish()
    bytewise = TranslatingCodec(ChatStreamTranslator(1))
    pieces = b"".join(bytewise.feed(body[i : i + 1]) for i in range(len(body))) + bytewise.finish()
    assert at_once == pieces and whole.done
    assert decode_all(at_once)[-1].data == "[DONE]"
    assert whole.usage == Usage(input=3, output=4)


def test_a_translated_stream_cut_midway_ends_with_the_dialects_error_frame() -> None:
    frames = message_events("m", "one two three")
    codec = TranslatingCodec(ChatStreamTranslator(1))
    for frame in frames[:4]:
        codec.feed(frame)
    events = decode_all(codec.fail(CUT))
    assert json.loads(events[0].data)["error"]["message"] == "Upstream stream interrupted"
    assert events[-1].data == "[DONE]"


@pytest.mark.parametrize(
    ("usage", "budget_input", "output"),
    [
        (
            anthropic_usage(
                {
                    "input_tokens": 10,
                    "cache_read_input_tokens": 1000,
                    "cache_creation_input_tokens": 50,
                    "output_tokens": 5,
                }
            ),
            1060,
            5,
        ),
        (anthropic_usage({"input_tokens": 7, "output_tokens": True}), 7, 0),  # a bool is not a count
        (anthropic_usage(None), 0, 0),
        (openai_usage(prompt=1060, cached=1000, completion=5), 1060, 5),
        (openai_usage(prompt=10, cached=50, completion=1), 10, 1),  # cached cannot exceed the prompt
    ],
)
def test_the_usage_rule(usage: Usage, budget_input: int, output: int) -> None:
    assert (usage.budget_input, usage.output) == (budget_input, output)
