"""Reasoning ↔ extended thinking. Pure; never imports aiohttp.

`reasoning_effort` / `reasoning.effort` become a thinking budget; signed thinking blocks travel back
to Anthropic through the client, as Chat `thinking_blocks` (LiteLLM's field) or as a Responses
`reasoning.encrypted_content` string made here, so tool-use turns with thinking on can continue.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from gateway.errors import bad_request

DEFAULT_MAX_TOKENS = 4096

# reasoning_effort → extended-thinking budget (Anthropic's minimum budget is 1024).
THINKING_BUDGETS: dict[str, int] = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}


def thinking(
    effort: Any, max_tokens: int | None, names: tuple[str, str] = ("reasoning_effort", "max_tokens")
) -> tuple[dict[str, Any] | None, int]:
    """reasoning effort → (thinking config, max_tokens); max_tokens must exceed the budget.
    `names`: the client's own names for the two parameters, used in error messages."""
    if effort is None or effort == "none":
        return None, max_tokens or DEFAULT_MAX_TOKENS
    if not isinstance(effort, str) or effort not in THINKING_BUDGETS:
        raise bad_request(f"{names[0]} must be one of none, minimal, low, medium, high")
    budget = THINKING_BUDGETS[effort]
    if max_tokens is None:
        return {"type": "enabled", "budget_tokens": budget}, budget + DEFAULT_MAX_TOKENS
    if max_tokens <= 1024:
        raise bad_request(f"{names[1]} must be greater than 1024 when reasoning is enabled")
    return {"type": "enabled", "budget_tokens": min(budget, max_tokens - 1)}, max_tokens


def echoed_thinking(value: Any) -> list[dict[str, Any]]:
    """Signed thinking blocks a client sends back on an assistant message (`thinking_blocks`, the
    field LiteLLM also uses); Anthropic needs them to continue a tool-use turn with thinking on."""
    result: list[dict[str, Any]] = []
    for block in value if isinstance(value, list) else ():
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "thinking" and isinstance(block.get("signature"), str) and block["signature"]:
            result.append(
                {
                    "type": "thinking",
                    "thinking": str(block.get("thinking") or ""),
                    "signature": block["signature"],
                }
            )
        elif block.get("type") == "redacted_thinking" and isinstance(block.get("data"), str):
            result.append({"type": "redacted_thinking", "data": block["data"]})
    return result


SEALED_PREFIX = "lar1:"


def seal_thinking(thinking: str, signature: str) -> str:
    """A signed Anthropic thinking block as an opaque Responses `encrypted_content` string.

    Not secret (the client saw the thinking text already); the signature is Anthropic's own and
    proves integrity upstream, so this is only packaging for the round trip."""
    payload = json.dumps({"thinking": thinking, "signature": signature}, separators=(",", ":"))
    return SEALED_PREFIX + base64.b64encode(payload.encode()).decode()


def unseal_thinking(sealed: Any) -> dict[str, Any]:
    """The thinking block inside `encrypted_content`, or a 400 if this gateway did not make it."""
    try:
        if not isinstance(sealed, str) or not sealed.startswith(SEALED_PREFIX):
            raise ValueError("foreign")
        data = json.loads(base64.b64decode(sealed[len(SEALED_PREFIX) :], validate=True))
        thinking, signature = data["thinking"], data["signature"]
        if not isinstance(thinking, str) or not isinstance(signature, str):
            raise ValueError("shape")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad_request("reasoning encrypted_content was not produced by this gateway") from exc
    return {"type": "thinking", "thinking": thinking, "signature": signature}


def unsigned_tool_turn(messages: list[dict[str, Any]]) -> bool:
    """True when the request continues an assistant tool-use turn that has no thinking block.

    Anthropic refuses thinking in that position (the turn would have to start with the signed
    thinking block, which the client did not send back), while a request without thinking is valid;
    so thinking is left off for such a continuation only.
    """
    assistant = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
    if assistant is None or messages[-1]["role"] != "user" or isinstance(assistant["content"], str):
        return False
    content = assistant["content"]
    uses_tools = any(b.get("type") == "tool_use" for b in content)
    return uses_tools and content[0].get("type") not in ("thinking", "redacted_thinking")
