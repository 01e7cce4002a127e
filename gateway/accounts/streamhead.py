"""Look at the head of an upstream SSE stream before committing it to the client.

Pure: `feed(bytes) -> HeadDecision`, no I/O. Anthropic streams open with `message_start`,
`content_block_start` and `ping`; an `overloaded_error` (or other `error` event) can arrive among
them. Holding back just those opening frames lets the loop retry such a failure on another account
before the client has seen a byte. The first real content (`content_block_delta`, `message_delta`,
`message_stop`, anything unknown) commits the stream; so does a head larger than `limit`.
"""

from __future__ import annotations

import json
from enum import StrEnum

OPENING_EVENTS = frozenset({"message_start", "content_block_start", "ping"})
HEAD_LIMIT = 256 * 1024


class HeadDecision(StrEnum):
    PENDING = "pending"
    COMMIT = "commit"
    ERROR = "error"


def _frame_event(frame: bytes) -> tuple[str | None, bytes]:
    event: str | None = None
    data: list[bytes] = []
    for line in frame.splitlines():
        if line.startswith(b"event:"):
            event = line[6:].strip().decode("utf-8", "replace")
        elif line.startswith(b"data:"):
            data.append(line[5:].strip())
    return event, b"\n".join(data)


def _error_type(data: bytes) -> str:
    try:
        payload = json.loads(data)
    except ValueError:
        return "api_error"
    error = payload.get("error") if isinstance(payload, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else "api_error"


class StreamHead:
    def __init__(self, limit: int = HEAD_LIMIT) -> None:
        self.limit = limit
        self.buffered = b""
        self.error_type: str | None = None
        self._scan = 0
        self.decision = HeadDecision.PENDING

    def feed(self, chunk: bytes) -> HeadDecision:
        if self.decision is not HeadDecision.PENDING:
            self.buffered += chunk
            return self.decision
        self.buffered += chunk
        text = self.buffered.replace(b"\r\n", b"\n")
        while True:
            end = text.find(b"\n\n", self._scan)
            if end < 0:
                break
            event, data = _frame_event(text[self._scan : end])
            self._scan = end + 2
            if event is None and not data:
                continue
            if event == "error" or (event is None and b'"type":"error"' in data.replace(b" ", b"")):
                self.error_type = _error_type(data)
                self.decision = HeadDecision.ERROR
                return self.decision
            if event not in OPENING_EVENTS:
                self.decision = HeadDecision.COMMIT
                return self.decision
        if len(self.buffered) >= self.limit:
            self.decision = HeadDecision.COMMIT
        return self.decision
