"""Anthropic Messages response → OpenAI Responses `response` object. Pure: dict in, new dict out.

Also the item and response builders the stream translator uses, so that the streamed
`response.completed` and the non-streamed body are the same object. Consecutive text blocks share
one `message` item; thinking becomes a `reasoning` item with a summary; `tool_use` becomes a
`function_call` item whose `call_id` is the Anthropic tool-use id (the client sends it back).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.openai import common, reasoning, structured
from gateway.openai.structured import JSON_TOOL

# Request fields the Responses API echoes back in the response object.
ECHO_DEFAULTS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "reasoning": None,
    "temperature": None,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
}

ENCRYPTED_REASONING = "reasoning.encrypted_content"

INCOMPLETE = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
}


def base_id(message_id: Any) -> str:
    text = str(message_id or "unknown")
    return text[4:] if text.startswith("msg_") else text


def message_item(base: str, output_index: int, parts: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {
        "id": f"msg_{base}_{output_index}",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": parts,
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def reasoning_item(
    base: str, output_index: int, text: str | None, signature: str | None = None
) -> dict[str, Any]:
    """A reasoning item; with a signature (client asked for `reasoning.encrypted_content`) it carries
    the signed thinking block, which the client sends back to continue a tool-use turn."""
    summary = [] if text is None else [{"type": "summary_text", "text": text}]
    item: dict[str, Any] = {"id": f"rs_{base}_{output_index}", "type": "reasoning", "summary": summary}
    if signature:
        item["encrypted_content"] = reasoning.seal_thinking(text or "", signature)
    return item


def wants_encrypted_reasoning(echo: Mapping[str, Any] | None) -> bool:
    include = (echo or {}).get("include")
    return isinstance(include, list) and ENCRYPTED_REASONING in include


def function_call_item(call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": f"fc_{call_id}",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def response_object(
    base: str,
    created_at: int,
    model: Any,
    output: list[dict[str, Any]],
    *,
    stop_reason: str | None = None,
    usage: Mapping[str, Any] | None = None,
    echo: Mapping[str, Any] | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """The `response` object; `status` None means final (completed or incomplete by stop reason)."""
    incomplete = INCOMPLETE.get(stop_reason or "")
    if status is None:
        status = "incomplete" if incomplete else "completed"
    response: dict[str, Any] = {
        "id": f"resp_{base}",
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete and status == "incomplete" else None,
        "model": model,
        "output": output,
    }
    echo = echo or {}
    for key, default in ECHO_DEFAULTS.items():
        response[key] = echo.get(key, default) if echo.get(key) is not None else default
    response["usage"] = common.responses_usage(usage) if usage is not None else None
    return response


def output_items(
    base: str, content: list[dict[str, Any]], encrypted: bool = False, json_mode: bool = False
) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    open_parts: list[dict[str, Any]] | None = None
    for block in content:
        kind = block.get("type")
        if kind == "tool_use" and json_mode and block.get("name") == JSON_TOOL:
            # The forced JSON-format call is the answer text (see `structured`).
            block = {"type": "text", "text": json.dumps(block.get("input") or {}, ensure_ascii=False)}
            kind = "text"
        if kind == "text":
            if open_parts is None:
                open_parts = []
                output.append(message_item(base, len(output), open_parts, "completed"))
            open_parts.append(text_part(str(block.get("text") or "")))
        elif kind == "thinking":
            open_parts = None
            signature = (
                block.get("signature") if encrypted and isinstance(block.get("signature"), str) else None
            )
            output.append(reasoning_item(base, len(output), str(block.get("thinking") or ""), signature))
        elif kind == "tool_use":
            open_parts = None
            arguments = json.dumps(block.get("input") or {})
            call_id, name = str(block.get("id")), str(block.get("name"))
            output.append(function_call_item(call_id, name, arguments, "completed"))
    return output


def translate_responses_response(
    message: Mapping[str, Any], created_at: int, echo: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    base = base_id(message.get("id"))
    return response_object(
        base,
        created_at,
        message.get("model"),
        output_items(
            base,
            common.blocks(message),
            wants_encrypted_reasoning(echo),
            structured.json_mode(echo or {}, True),
        ),
        stop_reason=message.get("stop_reason") if isinstance(message.get("stop_reason"), str) else None,
        usage=common.obj(message.get("usage")),
        echo=echo,
    )
