"""Read the CLI's `--output-format stream-json` lines: Anthropic SSE frames out, or one message.

Pure: `feed(line) -> frames`, no I/O. With `--include-partial-messages` the CLI wraps every raw
Messages stream event in `{"type":"stream_event","event":{…}}`; those are re-framed as SSE exactly.
The `assistant` line carries the whole message and the closing `result` line the usage, stop reason
and, when the call failed, the upstream status (`api_error_status`). A `rate_limit_event` names an
exhausted subscription window (`rateLimitType`, `resetsAt`), turned back into the
`anthropic-ratelimit-unified-*` headers the account pool understands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gateway.accounts.classify import UNIFIED
from gateway.errors import GatewayError

USAGE_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def sse_frame(event: dict[str, Any]) -> bytes:
    kind = str(event.get("type", "message"))
    return f"event: {kind}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


@dataclass(frozen=True)
class CliFailure:
    status: int | None
    """The upstream HTTP status the CLI reported, None when the CLI itself failed."""
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    """Synthesised upstream headers (quota state) for the account pool's classifier."""

    def client_error(self) -> GatewayError:
        if self.status is None:
            return GatewayError(502, "api_error", self.message)
        return GatewayError(self.status, ERROR_TYPES.get(self.status, "api_error"), self.message)


class CliOutput:
    def __init__(self) -> None:
        self.started = False
        self.done = False
        self.failure: CliFailure | None = None
        self.message_id: str | None = None
        self.model: str | None = None
        self.content: list[Any] = []
        self.stop_reason: str | None = None
        self.stop_sequence: str | None = None
        self.usage: dict[str, int] = {}
        self._rate_limit: dict[str, Any] = {}

    def feed(self, line: bytes) -> list[bytes]:
        """SSE frames to send for this line (empty for bookkeeping lines)."""
        try:
            item = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return []  # the CLI may print plain warnings; they are not part of the answer
        if not isinstance(item, dict):
            return []
        kind = item.get("type")
        if kind == "stream_event" and item.get("parent_tool_use_id") is None:
            event = item.get("event")
            if isinstance(event, dict):
                self.started = True
                self._note_event(event)
                return [sse_frame(event)]
        elif kind == "assistant" and item.get("parent_tool_use_id") is None:
            self._note_message(item.get("message"))
        elif kind == "rate_limit_event" and isinstance(item.get("rate_limit_info"), dict):
            self._rate_limit = item["rate_limit_info"]
        elif kind == "result":
            self._note_result(item)
        return []

    def _note_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "message_start" and isinstance(event.get("message"), dict):
            self.message_id = event["message"].get("id") or self.message_id
            self.model = event["message"].get("model") or self.model
        if event.get("type") == "message_delta" and isinstance(event.get("delta"), dict):
            self.stop_reason = event["delta"].get("stop_reason") or self.stop_reason

    def _note_message(self, message: Any) -> None:
        if not isinstance(message, dict) or message.get("model") == "<synthetic>":
            return  # the CLI's stand-in message for an error, not model output
        self.message_id = message.get("id") or self.message_id
        self.model = message.get("model") or self.model
        if isinstance(message.get("content"), list):
            self.content.extend(message["content"])

    def _note_result(self, result: dict[str, Any]) -> None:
        self.done = True
        usage = result.get("usage")
        if isinstance(usage, dict):
            self.usage = {k: int(usage.get(k) or 0) for k in USAGE_FIELDS}
        if result.get("is_error"):
            status = result.get("api_error_status")
            text = result.get("result")
            self.failure = CliFailure(
                status if isinstance(status, int) else None,
                text if isinstance(text, str) and text else "the claude CLI reported an error",
                self._quota_headers(),
            )
            return
        if isinstance(result.get("stop_reason"), str):
            self.stop_reason = result["stop_reason"]

    def _quota_headers(self) -> dict[str, str]:
        info = self._rate_limit
        if info.get("status") != "rejected" or not info.get("rateLimitType"):
            return {}
        headers = {
            f"{UNIFIED}status": "rejected",
            f"{UNIFIED}representative-claim": str(info["rateLimitType"]),
        }
        if isinstance(info.get("resetsAt"), int | float):
            headers[f"{UNIFIED}reset"] = str(int(info["resetsAt"]))
        return headers

    def finish(self, returncode: int | None) -> CliFailure | None:
        """After the process ended: the failure, if the run did not produce an answer."""
        if self.failure is not None:
            return self.failure
        if not self.done:
            self.failure = CliFailure(None, f"the claude CLI ended without an answer (exit {returncode})")
        return self.failure

    def message(self) -> dict[str, Any]:
        """The non-streaming Messages API response."""
        return {
            "id": self.message_id or "msg_cli",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.content,
            "stop_reason": self.stop_reason or "end_turn",
            "stop_sequence": self.stop_sequence,
            "usage": {k: self.usage.get(k, 0) for k in USAGE_FIELDS},
        }
