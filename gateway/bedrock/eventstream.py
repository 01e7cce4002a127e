"""AWS event-stream framing (`application/vnd.amazon.eventstream`), the encoder side. Pure.

One message is: total length (uint32), headers length (uint32), CRC32 of those eight bytes, the
headers, the payload, and a CRC32 of everything before it; all integers big-endian, CRC-32/IEEE as
`zlib.crc32`. A header is a one-byte name length, the ASCII name, a one-byte value type and the
value. Bedrock's stream sends each Anthropic event as a `chunk` event whose payload is
`{"bytes": base64(event JSON)}`, and a failure after the stream started as an `exception` message.
Never imports aiohttp; no I/O.
"""

from __future__ import annotations

import base64
import json
import struct
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

PRELUDE = 12
MAX_HEADER_NAME = 255
MAX_HEADER_VALUE = 0xFFFF  # string and bytes values carry a uint16 length


@dataclass(frozen=True, slots=True)
class Int8:
    value: int


@dataclass(frozen=True, slots=True)
class Int16:
    value: int


@dataclass(frozen=True, slots=True)
class Int64:
    value: int


HeaderValue = bool | int | str | bytes | Int8 | Int16 | Int64 | datetime | uuid.UUID
"""`int` is encoded as int32 (botocore's choice too); wrap it to pick another width."""


class EncodeError(ValueError):
    """A header or payload that cannot be framed (name or value too long, integer out of range)."""


def _header(name: str, value: HeaderValue) -> bytes:
    raw_name = name.encode("ascii")
    if not 0 < len(raw_name) <= MAX_HEADER_NAME:
        raise EncodeError(f"header name must be 1..{MAX_HEADER_NAME} bytes: {name!r}")
    head = bytes([len(raw_name)]) + raw_name
    try:
        return head + _value(value)
    except struct.error as exc:
        raise EncodeError(f"header {name!r}: {exc}") from None


def _value(value: HeaderValue) -> bytes:
    # bool first: it is an int to isinstance.
    if value is True:
        return b"\x00"
    if value is False:
        return b"\x01"
    if isinstance(value, Int8):
        return b"\x02" + struct.pack(">b", value.value)
    if isinstance(value, Int16):
        return b"\x03" + struct.pack(">h", value.value)
    if isinstance(value, int):
        return b"\x04" + struct.pack(">i", value)
    if isinstance(value, Int64):
        return b"\x05" + struct.pack(">q", value.value)
    if isinstance(value, bytes):
        return b"\x06" + _sized(value)
    if isinstance(value, str):
        return b"\x07" + _sized(value.encode("utf-8"))
    if isinstance(value, datetime):
        return b"\x08" + struct.pack(">q", int(value.timestamp() * 1000))
    return b"\x09" + value.bytes


def _sized(data: bytes) -> bytes:
    if len(data) > MAX_HEADER_VALUE:
        raise EncodeError(f"header value longer than {MAX_HEADER_VALUE} bytes")
    return struct.pack(">H", len(data)) + data


def encode_message(headers: Iterable[tuple[str, HeaderValue]], payload: bytes) -> bytes:
    """One framed message; headers are written in the order given."""
    raw_headers = b"".join(_header(name, value) for name, value in headers)
    total = PRELUDE + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + raw_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


CHUNK_HEADERS: tuple[tuple[str, HeaderValue], ...] = (
    (":event-type", "chunk"),
    (":content-type", "application/json"),
    (":message-type", "event"),
)


def chunk_message(event: bytes) -> bytes:
    """A Bedrock `chunk` carrying one Anthropic stream event (its JSON, no SSE framing)."""
    payload = json.dumps({"bytes": base64.b64encode(event).decode("ascii")}, separators=(",", ":"))
    return encode_message(CHUNK_HEADERS, payload.encode())


class ExceptionType:
    """The `:exception-type` values Bedrock's stream uses (the service model's names)."""

    THROTTLING = "throttlingException"
    MODEL_STREAM_ERROR = "modelStreamErrorException"
    VALIDATION = "validationException"
    INTERNAL = "internalServerException"
    MODEL_TIMEOUT = "modelTimeoutException"
    SERVICE_UNAVAILABLE = "serviceUnavailableException"


def exception_message(exception_type: str, message: str) -> bytes:
    """An in-stream failure, as Bedrock sends it after the 200 went out."""
    headers: tuple[tuple[str, HeaderValue], ...] = (
        (":exception-type", exception_type),
        (":content-type", "application/json"),
        (":message-type", "exception"),
    )
    return encode_message(headers, json.dumps({"message": message}).encode())
