"""Anthropic Messages response → OpenAI `chat.completion`. Pure: dict in, new dict out.

Text blocks join into `message.content`, `tool_use` blocks become `tool_calls` (ids kept, input
serialised to a JSON string), thinking becomes `reasoning_content`; usage counts cache reads as
`prompt_tokens_details.cached_tokens`. The id is `chatcmpl-<message id>`, the same as when streamed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.openai import common
from gateway.openai.structured import JSON_TOOL


def completion_id(message_id: Any) -> str:
    return f"chatcmpl-{message_id or 'unknown'}"


def translate_chat_response(
    message: Mapping[str, Any], created: int, json_mode: bool = False
) -> dict[str, Any]:
    """`json_mode`: the request asked for a JSON response format, so the forced `json_response`
    call is the answer text (see `structured`)."""
    texts: list[str] = []
    reasoning: list[str] = []
    signed: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for block in common.blocks(message):
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking") or ""))
            signed.append(
                {"type": "thinking", "thinking": block.get("thinking"), "signature": block.get("signature")}
            )
        elif kind == "redacted_thinking":
            signed.append({"type": "redacted_thinking", "data": block.get("data")})
        elif kind == "tool_use" and json_mode and block.get("name") == JSON_TOOL:
            texts.append(json.dumps(block.get("input") or {}, ensure_ascii=False))
        elif kind == "tool_use":
            tool_calls.append({
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": json.dumps(block.get("input") or {})},
            })  # fmt: skip
    out_message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
    }
    if reasoning:
        out_message["reasoning_content"] = "".join(reasoning)
    if signed:
        # Sent back on the next request, these let Claude continue a tool-use turn with thinking on.
        out_message["thinking_blocks"] = signed
    if tool_calls:
        out_message["tool_calls"] = tool_calls
    if message.get("stop_reason") == "refusal":
        out_message["refusal"] = "".join(texts) or "The model refused to answer."
    finish = common.finish_reason(message.get("stop_reason"))
    if finish == "tool_calls" and not tool_calls:
        finish = "stop"  # the only call was the JSON answer itself
    return {
        "id": completion_id(message.get("id")),
        "object": "chat.completion",
        "created": created,
        "model": message.get("model"),
        "choices": [{
            "index": 0,
            "message": out_message,
            "logprobs": None,
            "finish_reason": finish,
        }],
        "usage": common.chat_usage(message.get("usage")),
        "system_fingerprint": None,
    }  # fmt: skip
