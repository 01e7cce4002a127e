"""Server-sent events codec: `SseDecoder.feed(bytes) -> events` and `encode(event) -> bytes`.

Pure protocol code in the h11 style: no I/O, no asyncio, no aiohttp. The decoder accepts any
chunking of the byte stream (a frame, a line or a UTF-8 character split across reads), `\\n` and
`\\r\\n` line endings, comment lines and multi-line `data:` fields, as the WHATWG spec describes.
"""

from __future__ import annotations

from dataclasses import dataclass

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event: its `event:` name (None when absent) and its joined `data:` text."""

    data: str
    event: str | None = None


class SseDecoder:
    """Incremental decoder; one per stream. `feed` returns the events completed by that chunk."""

    __slots__ = ("_data", "_event", "_has_data", "_pending")

    def __init__(self) -> None:
        self._pending = b""
        self._event: str | None = None
        self._data: list[str] = []
        self._has_data = False

    def feed(self, chunk: bytes) -> list[SseEvent]:
        if not chunk:
            return []
        lines = (self._pending + chunk).split(b"\n")
        # The last piece has no terminator yet: keep it (it may also end in a half `\r\n`).
        self._pending = lines.pop()
        events: list[SseEvent] = []
        for raw in lines:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if b"\r" in raw:
                # Old-Mac style lone `\r` terminators inside what we split as one line.
                for part in raw.split(b"\r"):
                    self._line(part, events)
            else:
                self._line(raw, events)
        return events

    def finish(self) -> list[SseEvent]:
        """End of stream: a final event without its blank line is still delivered."""
        events: list[SseEvent] = []
        if self._pending:
            self._line(self._pending.rstrip(b"\r"), events)
            self._pending = b""
        self._line(b"", events)
        return events

    def _line(self, raw: bytes, events: list[SseEvent]) -> None:
        if not raw:
            if self._has_data:
                events.append(SseEvent("\n".join(self._data), self._event))
            self._event = None
            self._data = []
            self._has_data = False
            return
        if raw[0] == 0x3A:  # ":" comment / keep-alive
            return
        name, sep, value = raw.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
            self._has_data = True
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        # `id` and `retry` carry nothing the gateway uses.


def encode(event: SseEvent) -> bytes:
    """One frame: optional `event:` line, one `data:` line per line of data, blank line."""
    data = event.data
    body = "data: " + data.replace("\n", "\ndata: ") if "\n" in data else "data: " + data
    if event.event is not None:
        return f"event: {event.event}\n{body}\n\n".encode()
    return f"{body}\n\n".encode()


def encode_all(events: list[SseEvent]) -> bytes:
    return b"".join(encode(e) for e in events)


def decode_all(payload: bytes) -> list[SseEvent]:
    """Decode a complete stream held in memory (fixtures, tests, buffered upstream bodies)."""
    decoder = SseDecoder()
    return decoder.feed(payload) + decoder.finish()
