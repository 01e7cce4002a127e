"""OpenAI Responses request → Anthropic Messages request. Pure: dict in, new dict out.

Input items (messages, `function_call`, `function_call_output`), `instructions`, flat function
tools, tool_choice and `reasoning.effort` are translated; items of our own earlier output that
cannot round-trip (reasoning summaries) are skipped; anything needing server-side state
(`previous_response_id`, `background`, stored conversations) is an OpenAI-shaped 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import bad_request
from gateway.openai import common, reasoning, structured
from gateway.openai.chat_request import NEUTRAL, append, check_parameters, content_blocks, tool_result_block
from gateway.openai.models import AliasTable

SUPPORTED = frozenset({
    "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "top_k", "stream",
    "tools", "tool_choice", "parallel_tool_calls", "reasoning", "user", "safety_identifier",
    "metadata", "prompt_cache_key", "stream_options", "include", "text",
})  # fmt: skip

RESPONSES_NEUTRAL: dict[str, tuple[Any, ...]] = {
    **NEUTRAL,
    "truncation": ("disabled",),
    "background": (False,),
}

STATEFUL = {
    "previous_response_id": "previous_response_id is not supported: this gateway stores no responses; "
    "send the whole conversation in `input`",
    "conversation": "conversation is not supported: send the whole conversation in `input`",
    "background": "background responses are not supported",
}


def translate_responses_request(body: Any, aliases: AliasTable) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise bad_request("invalid OpenAI responses request: the body must be a JSON object")
    for key, hint in STATEFUL.items():
        if body.get(key) not in (None, False):
            raise bad_request(hint)
    check_parameters(body, SUPPORTED, RESPONSES_NEUTRAL)
    common.check_stream_flags(body)
    include = body.get("include")
    if include is not None and (
        not isinstance(include, list) or set(include) - {"reasoning.encrypted_content"}
    ):
        raise bad_request("include supports only 'reasoning.encrypted_content'")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("invalid OpenAI responses request: `model` must be a non-empty string")

    system, messages = convert_input(body.get("input"))
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        system.insert(0, {"type": "text", "text": instructions})
    elif instructions is not None and not isinstance(instructions, str):
        raise bad_request("instructions must be a string")
    options = body.get("reasoning")
    effort = options.get("effort") if isinstance(options, Mapping) else None
    names = ("reasoning.effort", "max_output_tokens")
    thinking, max_tokens = reasoning.thinking(effort, common.positive_int(body, "max_output_tokens"), names)

    tools = convert_tools(body["tools"]) if body.get("tools") is not None else None
    target = aliases.resolve(model)
    out = common.messages_request(body, target, max_tokens, system, messages, tools, thinking)
    return structured.force(out, structured.responses_format_tool(body.get("text")))


def convert_tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise bad_request("tools must be an array")
    result = []
    for tool in tools:
        kind = tool.get("type") if isinstance(tool, Mapping) else None
        if kind != "function" or not isinstance(tool, Mapping):
            raise bad_request(f"unsupported tool type {kind!r}: only function tools are supported")
        definition = common.tool_definition(tool.get("name"), tool.get("description"), tool.get("parameters"))
        result.append(definition)
    return result


def convert_input(raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if isinstance(raw, str):
        if not raw:
            raise bad_request("input must not be empty")
        return [], [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        raise bad_request("invalid OpenAI responses request: `input` must be a string or a non-empty array")
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            append(messages, "user", item)
            continue
        if not isinstance(item, Mapping):
            raise bad_request(f"input[{index}] must be an object or a string")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            content = item.get("content")
            if role in ("system", "developer"):
                parts = content_blocks(content, index, images=False, field="input")
                system.extend(b for b in parts if b.get("text"))
            elif role in ("user", "assistant"):
                blocks = content_blocks(content, index, images=role == "user", field="input")
                blocks = [b for b in blocks if b.get("type") != "text" or b.get("text")]
                if blocks:
                    append(messages, role, content if isinstance(content, str) else blocks)
            else:
                raise bad_request(f"input[{index}].role {role!r} is not supported")
        elif kind == "function_call":
            append(messages, "assistant", [function_call(item, index)])
        elif kind == "function_call_output":
            append(messages, "user", [function_output(item, index)])
        elif kind == "reasoning":
            # Only a signed block (from `reasoning.encrypted_content`) can go back to Anthropic.
            if item.get("encrypted_content") is not None:
                append(messages, "assistant", [reasoning.unseal_thinking(item["encrypted_content"])])
        else:
            raise bad_request(f"input[{index}] item type {kind!r} is not supported")
    if not messages:
        raise bad_request("input must contain at least one user or assistant message")
    return system, messages


def function_call(item: Mapping[str, Any], index: int) -> dict[str, Any]:
    call_id = item.get("call_id")
    name = item.get("name")
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
        raise bad_request(f"input[{index}] function_call needs a call_id and a name")
    arguments = common.tool_arguments(item.get("arguments"))
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def function_output(item: Mapping[str, Any], index: int) -> dict[str, Any]:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad_request(f"input[{index}] function_call_output needs a call_id")
    return tool_result_block(call_id, item.get("output"), index, "input")
