"""Anthropic Messages SSE → OpenAI Responses streaming events, as a per-request state machine.

`feed(event) -> frames` / `finish() -> frames`; pure. Emits the real event sequence with names and
increasing `sequence_number`: response.created, response.in_progress, output_item.added,
content_part.added, output_text.delta/done, function_call_arguments.delta/done, reasoning summary
events, output_item.done and finally response.completed (or response.incomplete / response.failed).
The final response object is built by the same functions as the non-streamed one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.errors import GatewayError
from gateway.openai import common, structured
from gateway.openai import responses_response as rr
from gateway.openai.sse import DONE, SseEvent
from gateway.openai.structured import JSON_TOOL

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class _Block:
    """The Anthropic content block being streamed and the output item it feeds."""

    __slots__ = ("content_index", "delta_head", "item", "kind", "output_index", "signature", "text")

    def __init__(self, kind: str, output_index: int, item: dict[str, Any], content_index: int = 0) -> None:
        self.kind = kind
        self.output_index = output_index
        self.item = item
        self.content_index = content_index
        self.text: list[str] = []
        self.delta_head = ""
        self.signature = ""


class ResponsesStreamTranslator:
    def __init__(self, created_at: int, *, echo: Mapping[str, Any] | None = None, model: str | None = None):
        self.created_at = created_at
        self.echo = echo
        self.encrypted = rr.wants_encrypted_reasoning(echo)
        self.json_mode = structured.json_mode(echo or {}, responses=True)
        self.model = model
        self.base = "unknown"
        self.usage: dict[str, Any] = {}
        self.stop_reason: str | None = None
        self.finished = False
        self.error: GatewayError | None = None
        self.output: list[dict[str, Any]] = []
        self._sequence = 0
        self._blocks: dict[int, _Block] = {}
        self._message: dict[str, Any] | None = None  # the open message item, shared by text blocks

    def _event(self, name: str, payload: dict[str, Any]) -> SseEvent:
        sequence = self._sequence
        self._sequence += 1
        return SseEvent(dumps({"type": name, "sequence_number": sequence, **payload}), name)

    def _response(self, status: str | None = None) -> dict[str, Any]:
        usage = self.usage if status is None else None
        return rr.response_object(
            self.base, self.created_at, self.model, self.output,
            stop_reason=self.stop_reason, usage=usage, echo=self.echo, status=status,
        )  # fmt: skip

    def feed(self, event: SseEvent) -> list[SseEvent]:
        if self.finished or event.data == DONE:
            return []
        payload = common.event_payload(event.data)
        if payload is None:
            return self.fail(GatewayError(502, "api_error", "upstream sent an unreadable stream event"))
        kind = payload.get("type")
        if kind == "content_block_delta":
            return self._delta(payload)
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_stop":
            return self._block_stop(common.block_index(payload))
        if kind == "message_start":
            message = common.obj(payload.get("message"))
            self.base = rr.base_id(message.get("id"))
            self.model = message.get("model") or self.model
            common.merge_usage(self.usage, message.get("usage"))
            snapshot = self._response("in_progress")
            created = self._event("response.created", {"response": snapshot})
            return [created, self._event("response.in_progress", {"response": self._response("in_progress")})]
        if kind == "message_delta":
            reason = common.text_of(common.obj(payload.get("delta")).get("stop_reason"))
            self.stop_reason = reason or self.stop_reason
            common.merge_usage(self.usage, payload.get("usage"))
            return []
        if kind == "message_stop":
            self.finished = True
            # A block the upstream never stopped is closed here, so the final output is complete.
            frames = [frame for index in list(self._blocks) for frame in self._block_stop(index)]
            frames += self._close_message()
            final = self._response()
            return [*frames, self._event(f"response.{final['status']}", {"response": final})]
        if kind == "error":
            return self.fail(common.upstream_error(payload.get("error")))
        return []

    def _open_item(self, item: dict[str, Any]) -> tuple[int, list[SseEvent]]:
        index = len(self.output)
        self.output.append(item)
        return index, [self._event("response.output_item.added", {"output_index": index, "item": item})]

    def _close_message(self) -> list[SseEvent]:
        if self._message is None:
            return []
        item, self._message = self._message, None
        item["status"] = "completed"
        index = self.output.index(item)
        return [self._event("response.output_item.done", {"output_index": index, "item": item})]

    def _block_start(self, payload: dict[str, Any]) -> list[SseEvent]:
        block = common.obj(payload.get("content_block"))
        kind = block.get("type")
        frames: list[SseEvent] = []
        if kind == "tool_use" and self.json_mode and block.get("name") == JSON_TOOL:
            block, kind = {"type": "text", "text": ""}, "text"  # the JSON answer streams as text
        if kind == "text":
            if self._message is None:
                item = rr.message_item(self.base, len(self.output), [], "in_progress")
                self._message = item
                _, frames = self._open_item(item)
            item = self._message
            state = _Block("text", self.output.index(item), item, len(item["content"]))
            part = rr.text_part("")
            item["content"].append(part)
            ids = self._ids(state)
            frames.append(self._event("response.content_part.added", {**ids, "part": dict(part)}))
            self._blocks[common.block_index(payload)] = state
            if common.text_of(block.get("text")):
                frames += self._text(state, block["text"])
            return frames
        if kind not in ("thinking", "tool_use"):
            return []  # redacted thinking and server-tool blocks have no Responses item
        frames = self._close_message()
        if kind == "thinking":
            output_index, added = self._open_item(rr.reasoning_item(self.base, len(self.output), None))
            state = _Block("thinking", output_index, self.output[output_index])
            part = {"type": "summary_text", "text": ""}
            ids = {"item_id": state.item["id"], "output_index": output_index, "summary_index": 0}
            added.append(self._event("response.reasoning_summary_part.added", {**ids, "part": part}))
        else:
            call = rr.function_call_item(str(block.get("id")), str(block.get("name")), "", "in_progress")
            output_index, added = self._open_item(call)
            state = _Block("tool_use", output_index, call)
        self._blocks[common.block_index(payload)] = state
        return frames + added

    @staticmethod
    def _ids(state: _Block) -> dict[str, Any]:
        item_id = state.item["id"]
        return {"item_id": item_id, "output_index": state.output_index, "content_index": state.content_index}

    def _text(self, state: _Block, text: str) -> list[SseEvent]:
        state.text.append(text)
        if not state.delta_head:
            # Text deltas are the hot path: render the constant part of the frame once per block.
            ids = dumps(self._ids(state))[1:-1]
            state.delta_head = f',{ids},"delta":'
        sequence = self._sequence
        self._sequence += 1
        data = f'{{"type":"response.output_text.delta","sequence_number":{sequence}{state.delta_head}'
        return [SseEvent(f'{data}{dumps(text)},"logprobs":[]}}', "response.output_text.delta")]

    def _delta(self, payload: dict[str, Any]) -> list[SseEvent]:
        state = self._blocks.get(common.block_index(payload))
        delta = common.obj(payload.get("delta"))
        if state is None:
            return []
        kind = delta.get("type")
        if kind == "text_delta" and state.kind == "text":
            return self._text(state, common.text_of(delta.get("text")))
        ids = {"item_id": state.item["id"], "output_index": state.output_index}
        if kind == "input_json_delta" and state.kind == "text":
            fragment = common.text_of(delta.get("partial_json"))
            return self._text(state, fragment) if fragment else []
        if kind == "input_json_delta" and state.kind == "tool_use":
            fragment = common.text_of(delta.get("partial_json"))
            if not fragment:
                return []
            state.text.append(fragment)
            return [self._event("response.function_call_arguments.delta", {**ids, "delta": fragment})]
        if kind == "thinking_delta" and state.kind == "thinking":
            text = common.text_of(delta.get("thinking"))
            state.text.append(text)
            ids["summary_index"] = 0
            return [self._event("response.reasoning_summary_text.delta", {**ids, "delta": text})]
        if kind == "signature_delta" and state.kind == "thinking":
            state.signature += common.text_of(delta.get("signature"))
        return []

    def _block_stop(self, index: int) -> list[SseEvent]:
        state = self._blocks.pop(index, None)
        if state is None:
            return []
        text = "".join(state.text)
        ids = {"item_id": state.item["id"], "output_index": state.output_index}
        if state.kind == "text":
            part = rr.text_part(text)
            state.item["content"][state.content_index] = part
            ids["content_index"] = state.content_index
            return [
                self._event("response.output_text.done", {**ids, "text": text, "logprobs": []}),
                self._event("response.content_part.done", {**ids, "part": dict(part)}),
            ]
        if state.kind == "thinking":
            signature = state.signature if self.encrypted else None
            done = rr.reasoning_item(self.base, state.output_index, text, signature)
            self.output[state.output_index] = done
            part = done["summary"][0]
            ids["summary_index"] = 0
            return [
                self._event("response.reasoning_summary_text.done", {**ids, "text": text}),
                self._event("response.reasoning_summary_part.done", {**ids, "part": part}),
                self._event("response.output_item.done", {"output_index": state.output_index, "item": done}),
            ]
        arguments = text or "{}"
        item = state.item
        item.update(arguments=arguments, status="completed")
        return [
            self._event("response.function_call_arguments.done", {**ids, "arguments": arguments}),
            self._event("response.output_item.done", {"output_index": state.output_index, "item": item}),
        ]

    def fail(self, error: GatewayError) -> list[SseEvent]:
        """End the stream with `error` in-band (the HTTP status is already sent); [] if already ended."""
        if self.finished:
            return []
        self.finished = True
        self.error = error
        body = error.openai_body()["error"]
        body["code"] = body["code"] or error.error_type
        frames = [self._event("error", {"code": body["code"], "message": body["message"], "param": None})]
        for state in self._blocks.values():
            # What did arrive stays visible in the failed response's output.
            if state.kind == "text":
                state.item["content"][state.content_index] = rr.text_part("".join(state.text))
            elif state.kind == "tool_use":
                state.item["arguments"] = "".join(state.text)
        failed = self._response("failed")
        failed["error"] = {"code": body["code"], "message": body["message"]}
        frames.append(self._event("response.failed", {"response": failed}))
        return frames

    def finish(self) -> list[SseEvent]:
        if self.finished:
            return []
        cut = GatewayError(502, "api_error", "upstream stream ended before the response completed")
        return self.fail(cut)
