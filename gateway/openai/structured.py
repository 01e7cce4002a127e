"""Structured outputs (`response_format` / Responses `text.format`) as a forced Claude tool. Pure.

Claude has no JSON mode, but a tool call's input is JSON that follows the tool's schema. So a JSON
schema (or a bare JSON object request) becomes one tool, `json_response`, that Claude is forced to
call; the translators then turn that call back into ordinary assistant text. This needs the tool
choice to itself, so it cannot be combined with client tools or with reasoning (Anthropic allows
only automatic tool choice while thinking): those combinations are refused with a clear 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import GatewayError, bad_request

JSON_TOOL = "json_response"
TEXT_FORMATS = (None, {"type": "text"})


def _tool(schema: Any, name: Any, description: Any) -> dict[str, Any]:
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        raise bad_request('a JSON schema response format needs an object schema ("type": "object")')
    label = f"the {name} JSON object" if isinstance(name, str) and name else "a JSON object"
    text = description if isinstance(description, str) and description else None
    return {
        "name": JSON_TOOL,
        "description": text or f"Reply with {label}. Put the whole answer in this call.",
        "input_schema": dict(schema),
    }


def chat_format_tool(response_format: Any) -> dict[str, Any] | None:
    """The forced tool for a Chat `response_format`, None for plain text."""
    if response_format in TEXT_FORMATS:
        return None
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "json_object":
        return _tool({"type": "object"}, None, None)
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, Mapping):
            raise bad_request("response_format json_schema needs a `json_schema` object")
        return _tool(spec.get("schema"), spec.get("name"), spec.get("description"))
    raise bad_request("response_format type must be text, json_object or json_schema")


def responses_format_tool(text: Any) -> dict[str, Any] | None:
    """The forced tool for a Responses `text.format` (flat: name, schema, description)."""
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if fmt in TEXT_FORMATS:
        return None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind == "json_object":
        return _tool({"type": "object"}, None, None)
    if kind == "json_schema" and isinstance(fmt, Mapping):
        return _tool(fmt.get("schema"), fmt.get("name"), fmt.get("description"))
    raise bad_request("text.format type must be text, json_object or json_schema")


def force(out: dict[str, Any], tool: dict[str, Any] | None) -> dict[str, Any]:
    """`out` with the format tool forced; refuses combinations Claude cannot serve."""
    if tool is None:
        return out
    if out.get("tools"):
        raise bad_request("a JSON response format cannot be combined with tools on this gateway")
    if "thinking" in out:
        raise bad_request("a JSON response format cannot be combined with reasoning on Claude models")
    out["tools"] = [tool]
    out["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
    return out


def json_mode(body: Mapping[str, Any], responses: bool) -> bool:
    """Whether the answer's `json_response` call is the answer text (decided from the request)."""
    try:
        fmt = body.get("text") if responses else body.get("response_format")
        tool = responses_format_tool(fmt) if responses else chat_format_tool(fmt)
    except GatewayError:  # an invalid format never reaches the upstream; nothing to translate back
        return False
    return tool is not None
