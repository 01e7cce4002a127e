"""Pieces shared by the Chat Completions and Responses translators. Pure; never imports aiohttp.

Images, tools, tool_choice, stop reasons → finish reasons, usage, the shared request parameters
(reasoning ↔ thinking lives in `reasoning`).
Every rejection is a `GatewayError` 400 so the route renders it in OpenAI's shape.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import Any

from gateway.errors import GatewayError, bad_request
from gateway.openai import reasoning

FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Anthropic error types as they arrive inside a stream, with the status they would have had.
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}

IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def block_index(payload: Mapping[str, Any]) -> int:
    index = payload.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else -1


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def upstream_error(error: Mapping[str, Any] | None) -> GatewayError:
    """An Anthropic `error` object (from a body or a stream event) as a GatewayError."""
    error = error if isinstance(error, Mapping) else {}
    kind = str(error.get("type") or "api_error")
    message = str(error.get("message") or "upstream error")
    return GatewayError(ERROR_STATUS.get(kind, 502), kind, message)


def image_block(url: Any) -> dict[str, Any]:
    """`data:` URLs become base64 sources, http(s) URLs become url sources."""
    if not isinstance(url, str) or not url:
        raise bad_request("image_url.url must be a non-empty string")
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64":
            raise bad_request("image data URLs must be base64 encoded (data:<type>;base64,<data>)")
        if media_type not in IMAGE_MEDIA_TYPES:
            raise bad_request(f"unsupported image type {media_type!r}; use jpeg, png, gif or webp")
        try:
            binascii.a2b_base64(data[:64])
        except binascii.Error as exc:
            raise bad_request("image data URL is not valid base64") from exc
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise bad_request("image URLs must be https:// or data: URLs")


def tool_definition(name: Any, description: Any, parameters: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise bad_request("every function tool needs a non-empty name")
    schema = parameters if isinstance(parameters, Mapping) else {"type": "object", "properties": {}}
    tool: dict[str, Any] = {"name": name}
    if isinstance(description, str) and description:
        tool["description"] = description
    tool["input_schema"] = dict(schema)
    return tool


def tool_choice(choice: Any, parallel_tool_calls: Any) -> dict[str, Any] | None:
    """OpenAI tool_choice (+ parallel_tool_calls=false) → Anthropic tool_choice, None when absent."""
    result: dict[str, Any] | None
    if choice is None:
        result = None
    elif choice == "auto":
        result = {"type": "auto"}
    elif choice == "none":
        result = {"type": "none"}
    elif choice == "required":
        result = {"type": "any"}
    elif isinstance(choice, Mapping) and choice.get("type") == "function":
        # Chat nests the name under `function`; Responses puts it at the top level.
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else choice.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request("tool_choice of type function needs a function name")
        result = {"type": "tool", "name": name}
    else:
        raise bad_request("tool_choice must be 'auto', 'none', 'required' or a named function")
    if parallel_tool_calls is False and (result is None or result["type"] != "none"):
        result = {**(result or {"type": "auto"}), "disable_parallel_tool_use": True}
    return result


def messages_request(
    body: Mapping[str, Any],
    model: str,
    max_tokens: int,
    system: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    thinking_config: dict[str, Any] | None,
) -> dict[str, Any]:
    """The Messages body from translated parts plus the parameters both OpenAI APIs share."""
    out: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    if system:
        out["system"] = system
    out["messages"] = messages
    temperature = number_in(body, "temperature", 0, 2)
    if temperature is not None:
        # OpenAI's range is 0..2, Anthropic's 0..1: clamp rather than fail a working client.
        out["temperature"] = min(temperature, 1.0)
    top_p = number_in(body, "top_p", 0, 1)
    if top_p is not None:
        out["top_p"] = top_p
    top_k = positive_int(body, "top_k")
    if top_k is not None:
        out["top_k"] = top_k
    if tools is not None:
        out["tools"] = tools
    choice = tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None:
        out["tool_choice"] = choice
    if thinking_config is not None and not reasoning.unsigned_tool_turn(messages):
        out["thinking"] = thinking_config
    user = body.get("safety_identifier") or body.get("user")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    if body.get("stream") is True:
        out["stream"] = True
    return out


def tool_arguments(arguments: Any) -> dict[str, Any]:
    """The JSON-string arguments of an assistant tool call as the object Anthropic wants."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if arguments is None or arguments == "":
        return {}
    if not isinstance(arguments, str):
        raise bad_request("tool call arguments must be a JSON string")
    try:
        parsed = json.loads(arguments)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise bad_request("tool call arguments are not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise bad_request("tool call arguments must be a JSON object")
    return parsed


def check_stream_flags(body: Mapping[str, Any]) -> None:
    """`stream` must be a boolean and `stream_options` an object: a client that wrote
    `"stream": "true"` would otherwise silently get a non-streamed answer."""
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        raise bad_request("stream must be a boolean")
    options = body.get("stream_options")
    if options is None:
        return
    if not isinstance(options, Mapping):
        raise bad_request("stream_options must be an object")
    include_usage = options.get("include_usage")
    if include_usage is not None and not isinstance(include_usage, bool):
        raise bad_request("stream_options.include_usage must be a boolean")


def positive_int(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request(f"{key} must be a positive integer")
    return value


def number_in(body: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{key} must be a number between {low:g} and {high:g}")
    return value


def event_payload(data: str) -> dict[str, Any] | None:
    """A stream event's JSON object; None when it is not JSON at all, {} when not an object."""
    try:
        payload = json.loads(data)
    except ValueError:
        return None
    return obj(payload)


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: upstream data is read defensively."""
    return value if isinstance(value, dict) else {}


def blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The content blocks of an Anthropic message that are objects."""
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def input_tokens(usage: Any) -> tuple[int, int, int]:
    """(total prompt tokens incl. cache, cache-read tokens, output tokens) from an Anthropic usage."""
    usage = obj(usage)
    cached = count(usage, "cache_read_input_tokens")
    prompt = count(usage, "input_tokens") + cached + count(usage, "cache_creation_input_tokens")
    return prompt, cached, count(usage, "output_tokens")


def chat_usage(usage: Any) -> dict[str, Any]:
    prompt, cached, output = input_tokens(usage)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt + output,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def responses_usage(usage: Any) -> dict[str, Any]:
    prompt, cached, output = input_tokens(usage)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output,
    }


def merge_usage(into: dict[str, Any], update: Any) -> None:
    """Stream usage is cumulative: the latest non-null value of each counter wins."""
    if isinstance(update, Mapping):
        for key, value in update.items():
            if value is not None:
                into[key] = value
