"""OpenAI Chat Completions request → Anthropic Messages request. Pure: dict in, new dict out.

Never mutates its input (retries on another account call it again with the same body). Parameters
with no Anthropic equivalent are rejected with an OpenAI-shaped 400 unless they hold their neutral
value (n=1, penalties 0, ...): a client must never believe a setting was honoured when it was not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gateway.errors import bad_request
from gateway.openai import common, reasoning, structured
from gateway.openai.models import AliasTable

# Parameters translated (metadata and prompt_cache_key only mean something to OpenAI's own platform).
SUPPORTED = frozenset({
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
    "stream", "stream_options", "stop", "tools", "tool_choice", "parallel_tool_calls",
    "reasoning_effort", "user", "safety_identifier", "metadata", "prompt_cache_key", "response_format",
})  # fmt: skip

# Parameters accepted only at their neutral value.
NEUTRAL: dict[str, tuple[Any, ...]] = {
    "n": (1,),
    "frequency_penalty": (0, 0.0),
    "presence_penalty": (0, 0.0),
    "logprobs": (False,),
    "top_logprobs": (0,),
    "logit_bias": ({},),
    "modalities": (["text"],),
    "store": (False,),
    "service_tier": ("auto", "default"),
}

HINTS: dict[str, str] = {
    "n": "n > 1 is not supported: Claude returns one choice per request; send parallel requests",
    "functions": "the legacy `functions` parameter is not supported; use `tools`",
    "function_call": "the legacy `function_call` parameter is not supported; use `tool_choice`",
    "store": "store=true is not supported: this gateway stores nothing; send store=false",
    "seed": "seed is not supported: Claude's sampling cannot be seeded",
    "audio": "audio output is not supported by Claude models",
    "prediction": "predicted outputs are not supported by Claude models",
    "web_search_options": "web_search_options is not supported on this gateway",
}


def check_parameters(
    body: Mapping[str, Any],
    supported: frozenset[str],
    neutral_values: Mapping[str, tuple[Any, ...]] = NEUTRAL,
) -> None:
    for key, value in body.items():
        if value is None:
            continue
        neutral = neutral_values.get(key)
        if neutral is not None and value in neutral:
            continue
        if key in supported:
            continue
        if neutral is not None or key in HINTS:
            hint = f"unsupported parameter: {key}={json_repr(value)} has no Claude equivalent"
            raise bad_request(HINTS.get(key, hint))
        raise bad_request(f"Unrecognized request argument supplied: {key}")


def json_repr(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def translate_chat_request(body: Any, aliases: AliasTable) -> dict[str, Any]:
    """The Anthropic Messages body for a Chat Completions body."""
    if not isinstance(body, Mapping):
        raise bad_request("invalid OpenAI chat completion request: the body must be a JSON object")
    check_parameters(body, SUPPORTED)
    common.check_stream_flags(body)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("invalid OpenAI chat completion request: `model` must be a non-empty string")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise bad_request("invalid OpenAI chat completion request: `messages` must be a non-empty array")

    system, messages = convert_messages(raw_messages)
    max_tokens = common.positive_int(body, "max_completion_tokens") or common.positive_int(body, "max_tokens")
    limit = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    thinking, max_tokens = reasoning.thinking(
        body.get("reasoning_effort"), max_tokens, ("reasoning_effort", limit)
    )

    tools = convert_tools(body["tools"]) if body.get("tools") is not None else None
    out = common.messages_request(body, aliases.resolve(model), max_tokens, system, messages, tools, thinking)
    structured.force(out, structured.chat_format_tool(body.get("response_format")))
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        out["stop_sequences"] = list(stop)
    elif stop is not None:
        raise bad_request("stop must be a string or an array of strings")
    return out


def convert_tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise bad_request("tools must be an array")
    result = []
    for tool in tools:
        if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
            kind = tool.get("type") if isinstance(tool, Mapping) else type(tool).__name__
            raise bad_request(f"unsupported tool type {kind!r}: only function tools are supported")
        fn = tool.get("function")
        if not isinstance(fn, Mapping):
            raise bad_request("a function tool needs a `function` object")
        result.append(common.tool_definition(fn.get("name"), fn.get("description"), fn.get("parameters")))
    return result


def convert_messages(raw: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, Anthropic messages) with consecutive same-role turns merged."""
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(raw):
        if not isinstance(message, Mapping):
            raise bad_request(f"messages[{index}] must be an object")
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.extend(b for b in content_blocks(content, index, images=False) if b.get("text"))
        elif role == "user":
            append(messages, "user", user_content(content, index))
        elif role == "assistant":
            if message.get("function_call") is not None:
                legacy = f"messages[{index}].function_call (legacy) is not supported; use tool_calls"
                raise bad_request(legacy)
            blocks = reasoning.echoed_thinking(message.get("thinking_blocks"))
            blocks += [b for b in content_blocks(content, index, images=False) if b.get("text")]
            blocks += tool_use_blocks(message.get("tool_calls"), index)
            if blocks:
                append(messages, "assistant", blocks)
        elif role == "tool":
            append(messages, "user", [tool_result(message, index)])
        else:
            raise bad_request(f"messages[{index}].role {role!r} is not supported")
    if not messages:
        raise bad_request("messages must contain at least one user or assistant message")
    return system, messages


def append(messages: list[dict[str, Any]], role: str, content: str | list[dict[str, Any]]) -> None:
    if messages and messages[-1]["role"] == role:
        last = messages[-1]
        merged = as_blocks(last["content"]) + as_blocks(content)
        # Anthropic wants a turn's tool results before anything else in the following user turn.
        results = [b for b in merged if b.get("type") == "tool_result"]
        others = [b for b in merged if b.get("type") != "tool_result"]
        last["content"] = results + others if results else merged
    else:
        messages.append({"role": role, "content": content})


def as_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def user_content(content: Any, index: int) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return content_blocks(content, index, images=True)


def content_blocks(
    content: Any, index: int, *, images: bool, field: str = "messages"
) -> list[dict[str, Any]]:
    """Text (and, where allowed, image) parts as Anthropic blocks; `cache_control` is kept, so
    clients that mark prompt-cache breakpoints the way LiteLLM does get Anthropic prompt caching."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise bad_request(f"{field}[{index}].content must be a string or an array of parts")
    blocks = []
    for part in content:
        if isinstance(part, str):
            blocks.append({"type": "text", "text": part})
            continue
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in ("text", "input_text", "output_text"):
            block: dict[str, Any] = {"type": "text", "text": str(part.get("text") or "")}
        elif kind == "refusal":
            block = {"type": "text", "text": str(part.get("refusal") or "")}
        elif kind in ("image_url", "input_image") and images:
            # Chat nests the URL (`image_url.url`); Responses gives it directly (`image_url`).
            image = part.get("image_url")
            block = common.image_block(image.get("url") if isinstance(image, Mapping) else image)
        else:
            raise bad_request(f"{field}[{index}] content part type {kind!r} is not supported here")
        if isinstance(part, Mapping) and isinstance(part.get("cache_control"), Mapping):
            block["cache_control"] = dict(part["cache_control"])
        blocks.append(block)
    return blocks


def tool_use_blocks(tool_calls: Any, index: int) -> list[dict[str, Any]]:
    if tool_calls is None:
        return []
    if not isinstance(tool_calls, list):
        raise bad_request(f"messages[{index}].tool_calls must be an array")
    blocks = []
    for call in tool_calls:
        fn = call.get("function") if isinstance(call, Mapping) else None
        call_id = call.get("id") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(call_id, str) or not call_id:
            raise bad_request(f"messages[{index}].tool_calls entries need an id and a function")
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request(f"messages[{index}].tool_calls entries need a function name")
        input_ = common.tool_arguments(fn.get("arguments"))
        blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": input_})
    return blocks


def tool_result(message: Mapping[str, Any], index: int) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise bad_request(f"messages[{index}] with role 'tool' needs a tool_call_id")
    return tool_result_block(call_id, message.get("content"), index, "messages")


def tool_result_block(call_id: str, content: Any, index: int, field: str) -> dict[str, Any]:
    """A tool's output (text or parts, images allowed) as the `tool_result` for call `call_id`."""
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
    if isinstance(content, str):
        result["content"] = content
    elif content is not None:
        result["content"] = content_blocks(content, index, images=True, field=field)
    return result
