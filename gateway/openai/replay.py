"""A complete Anthropic message as the SSE event sequence that would have streamed it. Pure.

Used when a client asked to stream but the upstream answered with plain JSON (some Anthropic-
compatible upstreams and proxies do): the stream translators then produce the same frames a real
stream would, so the client still gets a valid OpenAI stream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.openai.sse import SseEvent

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _event(name: str, payload: dict[str, Any]) -> SseEvent:
    return SseEvent(dumps({"type": name, **payload}), name)


def _block_events(index: int, block: Mapping[str, Any]) -> list[SseEvent]:
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas.append({"type": "text_delta", "text": block.get("text") or ""})
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas.append({"type": "thinking_delta", "thinking": block.get("thinking") or ""})
        if block.get("signature"):
            # As streamed: the signature last, so the client can send the signed block back.
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "tool_use":
        start = {"type": "tool_use", "id": block.get("id"), "name": block.get("name"), "input": {}}
        deltas.append({"type": "input_json_delta", "partial_json": json.dumps(block.get("input") or {})})
    else:
        start = dict(block)
    events = [_event("content_block_start", {"index": index, "content_block": start})]
    events += [_event("content_block_delta", {"index": index, "delta": delta}) for delta in deltas]
    events.append(_event("content_block_stop", {"index": index}))
    return events


def message_events(message: Mapping[str, Any]) -> list[SseEvent]:
    usage = dict(message.get("usage") or {})
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 0}}
    events = [_event("message_start", {"message": start})]
    for index, block in enumerate(message.get("content") or ()):
        events += _block_events(index, block)
    delta = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    output = {"output_tokens": usage.get("output_tokens", 0)}
    events.append(_event("message_delta", {"delta": delta, "usage": output}))
    events.append(_event("message_stop", {}))
    return events
