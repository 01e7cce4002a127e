"""The append-only journal (`tokens.journal`): small records between two snapshot compactions.

Pure: entries ⇄ JSON lines, and how one entry changes one record. Every entry carries absolute
values (a usage entry says "used_requests is now N", never "+1"), so replaying a journal that a
snapshot already contains is harmless: that is what makes compaction crash-safe without a
two-file transaction. Writers append only while holding the store lock after catching up with
everything already on disk, so the absolute values they write include other processes' usage.

A final line without its newline is a torn write from a killed process and is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from gateway.tokens.records import RecordError, TokenRecord, from_json, to_json


@dataclass(frozen=True)
class Put:
    """A newly issued token."""

    record: TokenRecord


@dataclass(frozen=True)
class Revoke:
    id: str


@dataclass(frozen=True)
class Expire:
    id: str
    expires_at: int


@dataclass(frozen=True)
class Usage:
    id: str
    used_requests: int
    used_input_tokens: int
    used_output_tokens: int


Entry = Put | Revoke | Expire | Usage


def encode(entry: Entry) -> bytes:
    body: dict[str, Any]
    if isinstance(entry, Put):
        body = {"op": "put", "record": to_json(entry.record)}
    elif isinstance(entry, Revoke):
        body = {"op": "revoke", "id": entry.id}
    elif isinstance(entry, Expire):
        body = {"op": "expire", "id": entry.id, "expires_at": entry.expires_at}
    else:
        body = {
            "op": "usage",
            "id": entry.id,
            "used_requests": entry.used_requests,
            "used_input_tokens": entry.used_input_tokens,
            "used_output_tokens": entry.used_output_tokens,
        }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def entry_id(entry: Entry) -> str:
    return entry.record.id if isinstance(entry, Put) else entry.id


def usage_of(record: TokenRecord) -> Usage:
    return Usage(record.id, record.used_requests, record.used_input_tokens, record.used_output_tokens)


def decode(line: bytes) -> Entry | None:
    """One complete line → entry; None for a line we cannot use (logged by the caller)."""
    try:
        body = json.loads(line)
        op = body["op"]
        if op == "put":
            return Put(from_json(body["record"]))
        if op == "revoke":
            return Revoke(str(body["id"]))
        if op == "expire":
            return Expire(str(body["id"]), int(body["expires_at"]))
        if op == "usage":
            return Usage(
                str(body["id"]),
                int(body["used_requests"]),
                int(body["used_input_tokens"]),
                int(body["used_output_tokens"]),
            )
    except (ValueError, KeyError, TypeError, RecordError):
        return None
    return None


def split_lines(data: bytes) -> tuple[list[bytes], int]:
    """Complete lines in `data` and how many bytes they span (a torn tail is left out)."""
    end = data.rfind(b"\n") + 1
    return [line for line in data[:end].split(b"\n") if line.strip()], end


def apply(entry: Entry, current: TokenRecord | None) -> TokenRecord | None:
    """The record after `entry` (None: nothing to store, e.g. a revoke of an unknown id)."""
    if isinstance(entry, Put):
        return entry.record
    if current is None:
        return None
    if isinstance(entry, Revoke):
        return current if current.revoked else replace(current, revoked=True)
    if isinstance(entry, Expire):
        return replace(current, expires_at=entry.expires_at)
    return current.with_usage(entry.used_requests, entry.used_input_tokens, entry.used_output_tokens)
