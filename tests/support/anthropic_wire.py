"""Anthropic Messages wire bodies for test stand-ins: a message, its SSE event sequence, an error.

Pure builders (no I/O): the exact Anthropic wire shapes, used by the fake upstream and by
tests that feed bytes to stream parsers.
"""

from __future__ import annotations

import json
from typing import Any


def message_json(model: str, text: str, input_tokens: int = 12, output_tokens: int = 7) -> dict[str, Any]:
    return {
        "id": "msg_fake01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
        },
    }


def sse_frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def message_events(model: str, text: str, input_tokens: int = 12, output_tokens: int = 7) -> list[bytes]:
    start = message_json(model, "", input_tokens, 1)
    start["content"] = []
    start["stop_reason"] = None
    words = text.split(" ")
    deltas = [w if i == 0 else " " + w for i, w in enumerate(words)]
    frames = [
        sse_frame("message_start", {"type": "message_start", "message": start}),
        sse_frame(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        sse_frame("ping", {"type": "ping"}),
    ]
    frames += [
        sse_frame(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}},
        )
        for d in deltas
    ]
    frames += [
        sse_frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_frame(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        sse_frame("message_stop", {"type": "message_stop"}),
    ]
    return frames


def error_json(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fake"}


def tool_use_json(model: str, tool_id: str, name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    """An assistant turn that calls one tool (`stop_reason: tool_use`)."""
    message = message_json(model, "")
    message["content"] = [{"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}]
    message["stop_reason"] = "tool_use"
    return message


def tool_use_events(model: str, tool_id: str, name: str, tool_input: dict[str, Any]) -> list[bytes]:
    """The SSE of `tool_use_json`: the input arrives as `input_json_delta` fragments."""
    start = message_json(model, "", 12, 1)
    start["content"] = []
    start["stop_reason"] = None
    arguments = json.dumps(tool_input)
    half = len(arguments) // 2
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
    return [
        sse_frame("message_start", {"type": "message_start", "message": start}),
        sse_frame("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        *(
            sse_frame(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": p},
                },
            )
            for p in (arguments[:half], arguments[half:])
        ),
        sse_frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_frame(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 9},
            },
        ),
        sse_frame("message_stop", {"type": "message_stop"}),
    ]
