"""Which conversation a request belongs to, for session affinity. Pure; no JSON parsing.

Claude Code names its conversation in the `x-claude-code-session-id` header; SDK clients can set
`metadata.user_id` in the Messages body. Keeping one conversation on one account keeps that
account's prompt cache warm.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_USER_ID = re.compile(rb'"metadata"\s*:\s*\{[^{}]*?"user_id"\s*:\s*"((?:[^"\\]|\\.){1,1000})"')


def session_key_of(headers: Mapping[str, str], body: bytes) -> str | None:
    """`session:<id>` from the header, else `user:<metadata.user_id>`, else None."""
    for key, value in headers.items():
        if key.lower() == "x-claude-code-session-id" and value.strip():
            return "session:" + value.strip()
    match = _USER_ID.search(body) if body else None
    if match:
        return "user:" + match.group(1).decode("utf-8", "replace")
    return None
