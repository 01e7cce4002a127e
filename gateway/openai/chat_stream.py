"""Anthropic Messages SSE → OpenAI `chat.completion.chunk` SSE, as a per-request state machine.

`feed(event) -> frames` / `finish() -> frames`; pure (no I/O), one instance per response. Tool calls
are numbered 0..n in the order they start (not by Anthropic block index), thinking streams as
`delta.reasoning_content`, usage comes in one extra chunk when `stream_options.include_usage` is
set, and an upstream `error` event becomes an OpenAI error frame followed by `[DONE]`.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import GatewayError
from gateway.openai import common
from gateway.openai.chat_response import completion_id
from gateway.openai.sse import DONE, SseEvent
from gateway.openai.structured import JSON_TOOL

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
DONE_EVENT = SseEvent(DONE)


class ChatStreamTranslator:
    """Turns decoded Anthropic events into OpenAI chunk frames for one response."""

    def __init__(
        self, created: int, *, include_usage: bool = False, model: str | None = None, json_mode: bool = False
    ) -> None:
        self.created = created
        self.include_usage = include_usage
        self.usage: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.finished = False
        self.error: GatewayError | None = None
        self._tools: dict[int, int] = {}
        self.json_mode = json_mode
        self._json_block: int | None = None  # the forced `json_response` call, streamed as content
        self._thinking: dict[int, list[str]] = {}  # open thinking blocks: text, then the signature last
        self._signed = 0
        self._set_prefix("chatcmpl-unknown", model)

    def _set_prefix(self, chunk_id: str, model: str | None) -> None:
        self.id = chunk_id
        self.model = model
        head = {"id": chunk_id, "object": "chat.completion.chunk", "created": self.created, "model": model}
        # Every chunk shares this prefix: render it once instead of once per token.
        self._prefix = dumps(head)[:-1] + ',"system_fingerprint":null,"choices":[{"index":0,"delta":'
        self._suffix = ',"logprobs":null,"finish_reason":null}]'
        self._suffix += ',"usage":null}' if self.include_usage else "}"

    def _chunk(self, delta: dict[str, Any]) -> SseEvent:
        return SseEvent(self._prefix + dumps(delta) + self._suffix)

    def feed(self, event: SseEvent) -> list[SseEvent]:
        if self.finished or event.data == DONE:
            return []
        payload = common.event_payload(event.data)
        if payload is None:
            return self.fail(GatewayError(502, "api_error", "upstream sent an unreadable stream event"))
        kind = payload.get("type")
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "message_start":
            message = common.obj(payload.get("message"))
            self._set_prefix(completion_id(message.get("id")), message.get("model") or self.model)
            common.merge_usage(self.usage, message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "message_delta":
            delta = common.obj(payload.get("delta"))
            self.stop_reason = common.text_of(delta.get("stop_reason")) or self.stop_reason
            common.merge_usage(self.usage, payload.get("usage"))
            return []
        if kind == "message_stop":
            return self._finish_frames()
        if kind == "content_block_stop":
            return self._thinking_stop(common.block_index(payload))
        if kind == "error":
            return self.fail(common.upstream_error(payload.get("error")))
        return []  # ping and event types added to the API later

    def _signed_block(self, block: dict[str, Any]) -> list[SseEvent]:
        """A signed thinking block as one indexed `thinking_blocks` delta (LiteLLM's field), so a
        client that keeps the streamed message can send it back on its next tool-use request."""
        entry = {"index": self._signed, **block}
        self._signed += 1
        return [self._chunk({"thinking_blocks": [entry]})]

    def _thinking_stop(self, index: int) -> list[SseEvent]:
        parts = self._thinking.pop(index, None)
        if parts is None or len(parts) < 2 or not parts[-1]:
            return []
        return self._signed_block(
            {"type": "thinking", "thinking": "".join(parts[:-1]), "signature": parts[-1]}
        )

    def _block_start(self, payload: dict[str, Any]) -> list[SseEvent]:
        block = common.obj(payload.get("content_block"))
        kind = block.get("type")
        if kind == "tool_use" and self.json_mode and block.get("name") == JSON_TOOL:
            self._json_block = common.block_index(payload)
            return []
        if kind == "tool_use":
            number = self._tools[common.block_index(payload)] = len(self._tools)
            call = {
                "index": number,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if kind == "text" and common.text_of(block.get("text")):
            return [self._chunk({"content": block["text"]})]
        if kind == "thinking":
            text = common.text_of(block.get("thinking"))
            self._thinking[common.block_index(payload)] = [text, ""]
            return [self._chunk({"reasoning_content": text})] if text else []
        if kind == "redacted_thinking" and common.text_of(block.get("data")):
            return self._signed_block({"type": "redacted_thinking", "data": block["data"]})
        return []

    def _delta(self, payload: dict[str, Any]) -> list[SseEvent]:
        delta = common.obj(payload.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": common.text_of(delta.get("text"))})]
        if kind == "input_json_delta":
            fragment = common.text_of(delta.get("partial_json"))
            if fragment and self._json_block is not None and common.block_index(payload) == self._json_block:
                return [self._chunk({"content": fragment})]
            number = self._tools.get(common.block_index(payload))
            if not fragment or number is None:
                return []
            return [self._chunk({"tool_calls": [{"index": number, "function": {"arguments": fragment}}]})]
        if kind == "thinking_delta":
            text = common.text_of(delta.get("thinking"))
            parts = self._thinking.get(common.block_index(payload))
            if parts is not None:
                parts.insert(-1, text)
            return [self._chunk({"reasoning_content": text})]
        if kind == "signature_delta":
            parts = self._thinking.get(common.block_index(payload))
            if parts is not None:
                parts[-1] += common.text_of(delta.get("signature"))
        return []  # citation deltas have no Chat Completions equivalent

    def _finish_frames(self) -> list[SseEvent]:
        self.finished = True
        reason = common.finish_reason(self.stop_reason)
        if reason == "tool_calls" and self._json_block is not None and not self._tools:
            reason = "stop"
        suffix = self._suffix.replace('"finish_reason":null', f'"finish_reason":"{reason}"')
        frames = [SseEvent(self._prefix + "{}" + suffix)]
        if self.include_usage:
            head = {"id": self.id, "object": "chat.completion.chunk", "created": self.created}
            usage_chunk = {**head, "model": self.model, "system_fingerprint": None, "choices": []}
            usage_chunk["usage"] = common.chat_usage(self.usage)
            frames.append(SseEvent(dumps(usage_chunk)))
        frames.append(DONE_EVENT)
        return frames

    def fail(self, error: GatewayError) -> list[SseEvent]:
        """End the stream with `error` in-band (the HTTP status is already sent); [] if already ended."""
        if self.finished:
            return []
        self.finished = True
        self.error = error
        body = error.openai_body()
        body["error"]["code"] = body["error"]["code"] or error.error_type
        return [SseEvent(dumps(body)), DONE_EVENT]

    def finish(self) -> list[SseEvent]:
        """The upstream body ended: a stream cut before `message_stop` must not look complete."""
        if self.finished:
            return []
        cut = GatewayError(502, "api_error", "upstream stream ended before the message completed")
        return self.fail(cut)
