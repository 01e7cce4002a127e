"""A document being parsed, and the located errors about it.

`Source` carries the text and the options that shape its parse; `syntax_error` turns an offset into
a `DslSyntaxError` with file, line and column. Also here: the characters no Links Notation text may
hold, and `~1{HEX}` reference literals, both refused with their position.

Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from dsl.errors import DslSyntaxError, Problem


@dataclass(frozen=True)
class Source:
    """One document to tokenize, with the options that shape its tokens."""

    text: str
    name: str = "<string>"
    max_depth: int = 64


@cache
def _forbidden() -> re.Pattern[str]:
    return re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def locate(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset`; CRLF, LF and a lone CR each end a line."""
    head = text[:offset]
    line = 1 + head.count("\n") + head.count("\r") - head.count("\r\n")
    start = max(head.rfind("\n"), head.rfind("\r")) + 1
    return line, offset - start + 1


def syntax_error(
    source: Source, offset: int, message: str, *, expected: str | None = None, hint: str | None = None
) -> DslSyntaxError:
    line, column = locate(source.text, offset)
    return DslSyntaxError([Problem(message, source.name, line, column, expected, hint)])


def check_characters(source: Source) -> None:
    """Refuse control characters and unpaired surrogates anywhere in the text, with their position."""
    bad = _forbidden().search(source.text)
    if bad is not None:
        code = ord(bad.group())
        what = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
        raise syntax_error(
            source,
            bad.start(),
            f"{what} (U+{code:04X}) is not allowed in Links Notation text",
            hint="write it as a reference literal such as ~1{00}" if code < 0xD800 else None,
        )


def decode_literal(source: Source, offset: int, text: str) -> str:
    """Decode a `~1{HEX}` reference literal: the UTF-8 bytes of the reference, in hex."""
    body = text[3:-1] if text.startswith("~1{") and text.endswith("}") else None
    if body is not None and len(body) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in body):
        try:
            return bytes.fromhex(body).decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise syntax_error(
        source, offset, f"invalid reference literal {text[:40]!r}", expected="~1{ followed by UTF-8 hex and }"
    )
