"""The in-band error of an Anthropic event stream. Pure."""

from __future__ import annotations

import json


def sse_error_event(error_type: str, message: str) -> bytes:
    """`event: error` with Anthropic's error object, for a stream whose headers are already sent."""
    data = json.dumps({"type": "error", "error": {"type": error_type, "message": message}})
    return f"event: error\ndata: {data}\n\n".encode()
