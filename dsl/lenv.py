"""`.lenv` files (lino-env) and `.env` files (dotenv): read and write, as pure text functions.

`.lenv` follows lino-env exactly: `KEY: value` per line, split at
the first colon-space; the value is kept untrimmed; whole-line `#` comments; lines without `: `
(`KEY=value`, `KEY:value`) are ignored; a value that opens a quote and does not close it on the same
line continues up to the first later line holding that quote (quotes dropped, lines joined with
`\\n`); a quoted value closed on its own line is kept verbatim, quotes included; last duplicate
wins. Line endings: LF, with a trailing CR stripped (CRLF files read like LF ones).

`.env` follows the common dotenv shape the seed reads (dotenvy): `KEY=value`, optional `export `,
single quotes literal, double quotes with `\\n`/`\\"`/`\\\\` escapes, ` #` comments after unquoted
values. Variable substitution is not performed.

Pure: no file I/O here; the settings resolver reads the files.
"""

from __future__ import annotations

import re

_QUOTES = ("'", '"')


def _lines(text: str) -> list[str]:
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def parse_lenv(text: str) -> dict[str, str]:
    """The key/value pairs of a `.lenv` text, in first-appearance order, last value winning."""
    result: dict[str, str] = {}
    lines = _lines(text)
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        sep = line.find(": ")
        if sep == -1:
            continue
        key = line[:sep].strip()
        value = line[sep + 2 :]
        multi = _multiline(lines, index, value)
        if multi is not None:
            value, index = multi
        result[key] = value
    return result


def _multiline(lines: list[str], next_index: int, value: str) -> tuple[str, int] | None:
    """A value opened by a quote and closed on a later line, and the index after that line."""
    body = value.lstrip()
    if not body or body[0] not in _QUOTES:
        return None
    quote, first = body[0], body[1:]
    if quote in first:
        return None
    parts = [first]
    for index in range(next_index, len(lines)):
        line = lines[index]
        close = line.find(quote)
        if close != -1:
            parts.append(line[:close])
            return "\n".join(parts), index + 1
        parts.append(line)
    return None


def format_lenv(values: dict[str, str]) -> str:
    """`.lenv` text that `parse_lenv` reads back to exactly `values`.

    Raises ValueError for a pair the format cannot hold (a key with `: ` or a newline, a value
    with a newline and both quote characters, or one that would be misread as an open quote).
    """
    out: list[str] = []
    for key, value in values.items():
        if not key.strip() or key != key.strip() or ": " in key or "\n" in key or key.startswith("#"):
            raise ValueError(f"cannot write .lenv key {key!r}")
        if "\r" in value:
            raise ValueError(f"cannot write a carriage return in the .lenv value of {key}")
        if "\n" in value:
            quote = next((q for q in _QUOTES if q not in value), None)
            if quote is None:
                raise ValueError(f"the multi-line .lenv value of {key} holds both quote characters")
            out.append(f"{key}: {quote}{value}{quote}")
            continue
        body = value.lstrip()
        if body and body[0] in _QUOTES and body[0] not in body[1:]:
            raise ValueError(f"the .lenv value of {key} opens a quote it never closes")
        out.append(f"{key}: {value}")
    return "".join(line + "\n" for line in out)


_DOTENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


def parse_dotenv(text: str) -> dict[str, str]:
    """The key/value pairs of a `.env` text; malformed lines are skipped, last value wins."""
    result: dict[str, str] = {}
    lines = _lines(text)
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        match = _DOTENV_LINE.fullmatch(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        key, rest = match.group(1), match.group(2)
        if rest[:1] in _QUOTES:
            quote = rest[0]
            body = rest[1:]
            # A quoted value may span lines; it ends at the first unescaped closing quote.
            while _closing_quote(body, quote) == -1 and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            close = _closing_quote(body, quote)
            if close == -1:
                continue
            raw = body[:close]
            result[key] = raw if quote == "'" else _unescape(raw)
        else:
            comment = re.search(r"\s#", rest)
            result[key] = (rest[: comment.start()] if comment else rest).strip()
    return result


def _closing_quote(body: str, quote: str) -> int:
    pos = 0
    while pos < len(body):
        char = body[pos]
        if char == "\\" and quote == '"':
            pos += 2
            continue
        if char == quote:
            return pos
        pos += 1
    return -1


def _unescape(raw: str) -> str:
    out: list[str] = []
    pos = 0
    while pos < len(raw):
        char = raw[pos]
        if char == "\\" and pos + 1 < len(raw) and raw[pos + 1] in _ESCAPES:
            out.append(_ESCAPES[raw[pos + 1]])
            pos += 2
            continue
        out.append(char)
        pos += 1
    return "".join(out)
