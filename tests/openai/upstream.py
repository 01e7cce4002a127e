"""An Anthropic stand-in that answers with scripted content (tool calls, thinking), for SDK tests.

Extends the shared `FakeAnthropic` (same recording, same error scripting): each `reply(...)` queues
one full answer, sent as exact Messages JSON or as the real SSE sequence when the request streams.
With no reply queued it behaves exactly like `FakeAnthropic`.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from tests.support.fake_anthropic import FakeAnthropic, sse_frame


def message(
    content: list[dict[str, Any]], stop_reason: str, model: str, usage: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": "msg_scripted01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    kind = block["type"]
    empty = {
        "text": {"type": "text", "text": ""},
        "thinking": {"type": "thinking", "thinking": "", "signature": ""},
    }
    start = empty.get(kind, {**block, "input": {}} if kind == "tool_use" else block)
    frames = [
        sse_frame(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        )
    ]
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        words = block["text"].split(" ")
        deltas = [{"type": "text_delta", "text": w if i == 0 else " " + w} for i, w in enumerate(words)]
    elif kind == "thinking":
        deltas = [
            {"type": "thinking_delta", "thinking": block["thinking"]},
            {"type": "signature_delta", "signature": block.get("signature", "sig")},
        ]
    elif kind == "tool_use":
        encoded = json.dumps(block["input"])
        half = len(encoded) // 2
        deltas = [
            {"type": "input_json_delta", "partial_json": part} for part in (encoded[:half], encoded[half:])
        ]
    frames += [
        sse_frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
        for d in deltas
    ]
    frames.append(sse_frame("content_block_stop", {"type": "content_block_stop", "index": index}))
    return frames


def stream_frames(full: dict[str, Any]) -> list[bytes]:
    start = {**full, "content": [], "stop_reason": None, "usage": {**full["usage"], "output_tokens": 1}}
    frames = [
        sse_frame("message_start", {"type": "message_start", "message": start}),
        sse_frame("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(full["content"]):
        frames += block_events(index, block)
    delta = {"stop_reason": full["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": full["usage"]["output_tokens"]}
    frames.append(sse_frame("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    frames.append(sse_frame("message_stop", {"type": "message_stop"}))
    return frames


class ScriptedAnthropic(FakeAnthropic):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.linger = 0.0  # seconds to keep a finished stream's connection open, like a slow proxy
        self.replies: deque[tuple[list[dict[str, Any]], str, dict[str, int]]] = deque()

    def reply(
        self,
        content: list[dict[str, Any]],
        stop_reason: str = "end_turn",
        usage: dict[str, int] | None = None,
    ) -> ScriptedAnthropic:
        self.replies.append((content, stop_reason, usage or {"input_tokens": 20, "output_tokens": 9}))
        return self

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        if not self.replies or self.script:
            return await super()._messages(request)
        seen = await self._seen(request)
        payload = seen.json()
        content, stop_reason, usage = self.replies.popleft()
        full = message(content, stop_reason, str(payload.get("model")), usage)
        if not payload.get("stream"):
            return web.json_response(full)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for frame in stream_frames(full):
            await response.write(frame)
        if self.linger:
            await asyncio.sleep(self.linger)
        await response.write_eof()
        return response


# Scripted answers several SDK tests share: a signed thinking block, the tool call it leads to, and a
# structured-output answer (the forced `json_response` call) that parses as `Weather`.
SIGNED_THINKING: dict[str, Any] = {
    "type": "thinking",
    "thinking": "Call the weather tool.",
    "signature": "EqQBCgIYAhsig",
}
PARIS_CALL: dict[str, Any] = {
    "type": "tool_use",
    "id": "toolu_01Paris",
    "name": "get_weather",
    "input": {"city": "Paris"},
}
JSON_ANSWER: dict[str, Any] = {
    "type": "tool_use",
    "id": "toolu_01J",
    "name": "json_response",
    "input": {"city": "Paris", "temp_c": 18},
}


class Weather(BaseModel):
    city: str
    temp_c: float
