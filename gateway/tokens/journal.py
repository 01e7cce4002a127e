"""The append-only journal (`tokens.journal`): small records between two snapshot compactions.

Pure: entries ⇄ JSON lines, and how one entry changes one record. Every entry carries absolute
values (a usage entry says "used_requests is now N", never "+1"), so replaying a journal that a
snapshot already contains is harmless: that is what makes compaction crash-safe without a
two-file transaction. Writers append only while holding the store lock after catching up with
everything already on disk, so the absolute values they write include other processes' usage.

Each line is the entry's JSON, a tab and the CRC-32 of that JSON in 8 hex digits (JSON escapes
tabs inside strings, so the last tab is the separator): a changed byte anywhere in a line is
detected, not just one that breaks the JSON. Lines without the checksum (older journals) are read
as plain JSON.

A final line without its newline is a torn write from a killed process and is ignored. Any
other line that does not decode is corruption: `decode` says what is wrong with it, and the store
refuses to load (never skipping it: a skipped revoke line would bring a revoked key back).
"""

from __future__ import annotations

import json
import zlib
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


CRC_DIGITS = 8


class JournalError(ValueError):
    """A complete journal line that cannot be used; the message says why (never a token)."""


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
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError as exc:  # a lone surrogate in a label: refuse it, never half-write
        raise JournalError("a text field is not valid Unicode (unpaired surrogate)") from exc
    return b"%s\t%08x\n" % (text, zlib.crc32(text))


def entry_id(entry: Entry) -> str:
    return entry.record.id if isinstance(entry, Put) else entry.id


def usage_of(record: TokenRecord) -> Usage:
    return Usage(record.id, record.used_requests, record.used_input_tokens, record.used_output_tokens)


def decode(line: bytes) -> Entry:
    """One complete line → entry; `JournalError` saying what is wrong with a line we cannot use."""
    text, tab, crc = line.rpartition(b"\t")
    if not tab:  # written before lines carried a checksum: JSON alone
        text = line
    elif len(crc) != CRC_DIGITS or crc != b"%08x" % zlib.crc32(text):
        raise JournalError("checksum mismatch (the line was changed after it was written)")
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise JournalError("not valid JSON") from None
    if not isinstance(body, dict):
        raise JournalError("not a JSON object")
    op = body.get("op")
    try:
        if op == "put":
            return Put(from_json(body["record"]))
        if op == "revoke":
            return Revoke(_id(body))
        if op == "expire":
            return Expire(_id(body), _count(body, "expires_at"))
        if op == "usage":
            return Usage(
                _id(body),
                _count(body, "used_requests"),
                _count(body, "used_input_tokens"),
                _count(body, "used_output_tokens"),
            )
    except KeyError as exc:
        raise JournalError(f"{op} entry without {exc.args[0]!r}") from None
    except RecordError as exc:
        raise JournalError(f"put entry: {exc}") from None
    raise JournalError(f"unknown op {str(op)[:40]!r}")


def _id(body: dict[str, Any]) -> str:
    value = body["id"]
    if not isinstance(value, str) or not value:
        raise JournalError(f"{body.get('op')} entry: id must be a non-empty string")
    return value


def _count(body: dict[str, Any], name: str) -> int:
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise JournalError(f"{body.get('op')} entry: {name} must be an integer")
    return value


def split_lines(data: bytes) -> tuple[list[bytes], int]:
    """Complete lines in `data` (blank ones kept, so indexes are line numbers) and how many bytes
    they span (a torn tail is left out)."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1], end


def orphan(entry: Entry, current: TokenRecord | None) -> str | None:
    """Why `entry` cannot follow what is loaded so far: writers only journal changes to records
    they hold, so a change to an unknown id means the snapshot lost records (None: it is fine)."""
    if isinstance(entry, Put) or current is not None:
        return None
    kind = type(entry).__name__.lower()
    return f"{kind} of token {entry.id}, which neither the snapshot nor an earlier line holds"


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
