"""The Claude Code identity system block for subscription OAuth traffic. Pure.

Anthropic refuses subscription tokens unless the system prompt carries the identity line. Requests
that already carry it (Claude Code's own, idempotent re-application) are left byte for byte alone;
the body is parsed only when this rule applies, never on plain pass-through.

Large bodies (`SPLICE_MIN_BYTES` and up) without any `"system"` key are not parsed at all: the
identity field is spliced in after the opening brace, bytes otherwise untouched. A full JSON round
trip of a 31 MB body cost 1.7 s of event-loop CPU (json holds the GIL, so a thread would not help);
a byte search and one concatenation cost milliseconds. The splice does not validate the JSON (the
upstream does, and answers a broken body itself); smaller bodies keep the exact parse.
"""

from __future__ import annotations

import json
from typing import Any

IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."
IDENTITY_BLOCK: dict[str, str] = {"type": "text", "text": IDENTITY}
SPLICE_MIN_BYTES = 1024 * 1024
_SPLICED_FIELD = b'"system":' + json.dumps([IDENTITY_BLOCK], separators=(",", ":")).encode()
_WHITESPACE = b" \t\r\n"


def _has_identity(system: Any) -> bool:
    if isinstance(system, str):
        return system.startswith(IDENTITY)
    if isinstance(system, list):
        # Claude Code puts a billing-header block first and the identity block after it.
        return any(
            isinstance(block, dict)
            and isinstance(block.get("text"), str)
            and block["text"].startswith(IDENTITY)
            for block in system
        )
    return False


def with_identity_system(payload: dict[str, Any]) -> dict[str, Any] | None:
    """A new payload with the identity block first, or None when it already has it (input untouched)."""
    system = payload.get("system")
    if _has_identity(system):
        return None
    if system is None or system == "" or system == []:
        new_system: list[Any] = [dict(IDENTITY_BLOCK)]
    elif isinstance(system, str):
        new_system = [dict(IDENTITY_BLOCK), {"type": "text", "text": system}]
    elif isinstance(system, list):
        new_system = [dict(IDENTITY_BLOCK), *system]
    else:
        return None  # not ours to fix: the upstream will reject the malformed field itself
    return {**payload, "system": new_system}


def _splice(body: bytes) -> bytes | None:
    """`body` with the identity field first, when it is an object with no `"system"` anywhere."""
    start = len(body) - len(body.lstrip(_WHITESPACE))
    if body[start : start + 1] != b"{" or b'"system"' in body:
        return None
    rest = body[start + 1 :]
    separator = b"" if rest.lstrip(_WHITESPACE).startswith(b"}") else b","
    return body[: start + 1] + _SPLICED_FIELD + separator + rest


def inject_identity(body: bytes) -> bytes | None:
    """The body with the identity block added, or None to forward the original bytes unchanged."""
    if len(body) >= SPLICE_MIN_BYTES:
        spliced = _splice(body)
        if spliced is not None:
            return spliced
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            return None
        changed = with_identity_system(payload)
        if changed is None:
            return None
        return json.dumps(changed, ensure_ascii=False, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        # Not JSON, or nested too deep for the parser: forward it as sent; the upstream answers it.
        return None
