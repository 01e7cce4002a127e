"""The seed's two snapshot file formats: `tokens.lino` (text) and `tokens.bin` (binary).

Pure: bytes/str in, records out, and back. A data dir written by the seed loads here, and files
written here load in the seed as long as no field beyond the seed's is set.

Text: two header comment lines, then one line per record sorted by id:
`(token <id> (label "…") (issued_at N) (expires_at N) (revoked true|false) [(account "…")]
[(max_requests N)] (used_requests N) [our extra groups])`. Strings escape `"` `\\` newline CR tab;
everything else (including non-ASCII, which the seed mangles on reload) is kept as UTF-8 text.
Field groups may come in any order; unknown groups are skipped (the seed fails the whole load).

Binary: magic `LARTOK01`, then per record a u32 little-endian length and that many bytes of the
record's JSON. A file shorter than the magic (empty included) is a truncated file, and like a
wrong magic an error, never an empty store.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable

from gateway.tokens.records import RecordError, TokenRecord, from_json, to_json

TEXT_HEADER = '# Link.Assistant.Router token store\n# Format: (token <id> (label "...") ...)\n'
BIN_MAGIC = b"LARTOK01"
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_INT_FIELDS = ("issued_at", "expires_at", "used_requests", "used_input_tokens", "used_output_tokens")
_OPTIONAL_INT_FIELDS = ("max_requests", "max_tokens", "rate_limit_per_minute")


class FormatError(ValueError):
    """A snapshot file is corrupt; the message names the file kind and the line or offset."""


def _sorted(records: Iterable[TokenRecord]) -> list[TokenRecord]:
    return sorted(records, key=lambda record: record.id)


# ---------------------------------------------------------------- text (tokens.lino)


def quote(value: str) -> str:
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def encode_text(records: Iterable[TokenRecord]) -> str:
    lines = [TEXT_HEADER]
    for record in _sorted(records):
        groups = [
            f"(label {quote(record.label)})",
            f"(issued_at {record.issued_at})",
            f"(expires_at {record.expires_at})",
            f"(revoked {'true' if record.revoked else 'false'})",
        ]
        if record.account is not None:
            groups.append(f"(account {quote(record.account)})")
        if record.max_requests is not None:
            groups.append(f"(max_requests {record.max_requests})")
        groups.append(f"(used_requests {record.used_requests})")
        for name in ("max_tokens", "rate_limit_per_minute"):
            if getattr(record, name) is not None:
                groups.append(f"({name} {getattr(record, name)})")
        for name in ("used_input_tokens", "used_output_tokens"):
            if getattr(record, name):
                groups.append(f"({name} {getattr(record, name)})")
        lines.append(f"(token {record.id} {' '.join(groups)})\n")
    return "".join(lines)


def decode_text(text: str) -> list[TokenRecord]:
    records = []
    for number, raw in enumerate(text.split("\n"), start=1):  # not splitlines: labels may hold \x0c, \u2028
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            records.append(_parse_line(line))
        except (FormatError, RecordError) as exc:
            raise FormatError(f"tokens.lino line {number}: {exc}") from None
    return records


_STR = r'"((?:[^"\\]|\\.)*)"'
_CANONICAL = re.compile(
    rf"\(token ([^\s()\"]+) \(label {_STR}\) \(issued_at (-?\d+)\) \(expires_at (-?\d+)\) "
    rf"\(revoked (true|false)\)(?: \(account {_STR}\))?(?: \(max_requests (\d+)\))?"
    r"(?: \(used_requests (\d+)\))?(?: \(max_tokens (\d+)\))?(?: \(rate_limit_per_minute (\d+)\))?"
    r"(?: \(used_input_tokens (\d+)\))?(?: \(used_output_tokens (\d+)\))?\)"
)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(1)), text) if "\\" in text else text


def _optional(value: str | None) -> int | None:
    return None if value is None else int(value)


def _parse_line(line: str) -> TokenRecord:
    # Fast path: the exact layout this module and the seed write (a 10k-token file loads ~10x faster).
    match = _CANONICAL.fullmatch(line)
    if match is not None:
        (
            token_id,
            label,
            issued,
            expires,
            revoked,
            account,
            max_requests,
            used,
            max_tokens,
            rate,
            used_in,
            used_out,
        ) = match.groups()
        return TokenRecord(
            id=token_id,
            label=_unescape(label),
            issued_at=int(issued),
            expires_at=int(expires),
            revoked=revoked == "true",
            account=None if account is None else _unescape(account),
            max_requests=_optional(max_requests),
            used_requests=int(used or 0),
            max_tokens=_optional(max_tokens),
            used_input_tokens=int(used_in or 0),
            used_output_tokens=int(used_out or 0),
            rate_limit_per_minute=_optional(rate),
        )
    return parse_groups(line)


def parse_groups(line: str) -> TokenRecord:
    """The general reader: field groups in any order, `revoked 1|yes`, unknown groups skipped."""
    items = _Scanner(line).group_at_top()
    if len(items) < 2 or items[0] != "token" or not isinstance(items[1], str):
        raise FormatError("expected (token <id> …)")
    fields: dict[str, object] = {"id": items[1]}
    for group in items[2:]:
        if not isinstance(group, list) or not group or not isinstance(group[0], str):
            raise FormatError("expected a (name value) field group")
        name, values = group[0], group[1:]
        value = values[0] if values else None
        if isinstance(value, list):
            raise FormatError(f"field {name}: nested groups are not allowed")
        if name in ("label", "account"):
            if not isinstance(value, _Quoted):
                raise FormatError(f"field {name}: expected a quoted string")
            fields[name] = str(value)
        elif name == "revoked":
            fields[name] = str(value) in ("true", "1", "yes")
        elif name in _INT_FIELDS or name in _OPTIONAL_INT_FIELDS:
            fields[name] = _parse_int(name, value)
    return from_json(fields)


def _parse_int(name: str, value: object) -> int:
    if value is None or isinstance(value, _Quoted):
        raise FormatError(f"field {name}: expected an integer")
    try:
        return int(str(value))
    except ValueError:
        raise FormatError(f"field {name}: expected an integer, got {value!r}") from None


class _Quoted(str):
    """A string that was quoted in the source (distinguishes `"true"` from `true`)."""


class _Scanner:
    """Reads one `( … )` expression of atoms, quoted strings and nested groups."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def group_at_top(self) -> list[object]:
        self._skip_space()
        group = self._group()
        self._skip_space()
        if self.pos != len(self.text):
            raise FormatError(f"unexpected text after the record at column {self.pos + 1}")
        return group

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _group(self) -> list[object]:
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise FormatError(f"expected '(' at column {self.pos + 1}")
        self.pos += 1
        items: list[object] = []
        while True:
            self._skip_space()
            if self.pos >= len(self.text):
                raise FormatError("unclosed '('")
            char = self.text[self.pos]
            if char == ")":
                self.pos += 1
                return items
            if char == "(":
                items.append(self._group())
            elif char == '"':
                items.append(self._quoted())
            else:
                items.append(self._atom())

    def _quoted(self) -> _Quoted:
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                following = self.text[self.pos + 1]
                out.append(_UNESCAPES.get(following, following))
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return _Quoted("".join(out))
            else:
                out.append(char)
                self.pos += 1
        raise FormatError("unterminated string")

    def _atom(self) -> str:
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char.isspace() or char in '()"':
                break
            self.pos += 1
        return self.text[start : self.pos]


# ---------------------------------------------------------------- binary (tokens.bin)


def encode_binary(records: Iterable[TokenRecord]) -> bytes:
    chunks = [BIN_MAGIC]
    for record in _sorted(records):
        body = json.dumps(to_json(record), ensure_ascii=False, separators=(",", ":")).encode()
        chunks.append(struct.pack("<I", len(body)))
        chunks.append(body)
    return b"".join(chunks)


def decode_binary(data: bytes) -> list[TokenRecord]:
    if len(data) < len(BIN_MAGIC):  # every writer writes the magic first: this is a truncated file
        raise FormatError(f"tokens.bin: {len(data)} bytes, shorter than its 8-byte magic header (truncated)")
    if data[: len(BIN_MAGIC)] != BIN_MAGIC:
        raise FormatError("tokens.bin: invalid magic header (expected LARTOK01)")
    records = []
    pos = len(BIN_MAGIC)
    while pos < len(data):
        if pos + 4 > len(data):
            raise FormatError(f"tokens.bin: truncated length at byte {pos}")
        (length,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if pos + length > len(data):
            raise FormatError(f"tokens.bin: truncated record at byte {pos}")
        try:
            records.append(from_json(json.loads(data[pos : pos + length].decode())))
        except (ValueError, RecordError) as exc:
            raise FormatError(f"tokens.bin: bad record at byte {pos}: {exc}") from None
        pos += length
    return records
