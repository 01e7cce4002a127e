"""`parse()`: Links Notation text to `Link`s, with every failure as a located `DslSyntaxError`.

Lark (LALR, grammar in `grammar.lark`) parses the token stream from `lexer.py`; the inline
Transformer in `transform.py` builds links during the parse. The parser is built once per process
(cached), never per call. Lark's `UnexpectedInput` is mapped here to our `Problem`, so callers only
ever see `DslSyntaxError`.

Pure: text in, links out.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer, LexerState

from dsl.errors import DslSyntaxError, Problem
from dsl.lino.comments import blank_comments
from dsl.lino.formatter import format_reference
from dsl.lino.lexer import tokenize
from dsl.lino.link import Link
from dsl.lino.recovery import further_problems
from dsl.lino.source import Source, locate
from dsl.lino.transform import LinoTransformer

DEFAULT_MAX_DEPTH = 64
# Deeper nesting than this is refused whatever the caller asks, so that no document can exhaust
# Python's recursion: comparing, hashing and formatting links recurse a few frames per level, and
# at 256 levels `==` already hits the default limit of 1,000.
DEPTH_CEILING = 100
# Lark's LALR loop costs a few microseconds per token, so a dense 10 MB document would take tens of
# seconds; a router config is ~200 KB at 1,000 providers. Bigger documents are refused up front.
DEFAULT_MAX_CHARS = 1024 * 1024
_SUGGESTION_MAX = 200  # a longer word is not quoted back in an error message

_TERMINAL_NAMES = {
    "REF": "a reference",
    "ID": "an id (a reference and ':')",
    "LPAR": "'('",
    "_RPAR": "')'",
    "_COLON": "':'",
    "_NL": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of an indented block",
    "$END": "the end of the document",
}


class _LinoLexer(Lexer):
    """Adapter giving Lark the tokens of our hand-written tokenizer."""

    __future_interface__ = 1  # receive (lexer_state, parser_state), the current interface

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        source = lexer_state.text
        assert isinstance(source, Source)
        return tokenize(source)


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar, parser="lalr", lexer=_LinoLexer, transformer=LinoTransformer(), maybe_placeholders=True
    )


def parse(
    text: str,
    *,
    source: str = "<string>",
    max_depth: int = DEFAULT_MAX_DEPTH,
    comments: bool = True,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[Link]:
    """Parse a Links Notation document.

    `source` names the document in error messages. `max_depth` bounds parentheses plus
    indentation levels (links-notation's default is 64; at most `DEPTH_CEILING`). With
    `comments=False`, `#` is an ordinary character. Documents longer than `max_chars` characters
    are refused. Raises `DslSyntaxError` for anything that is not valid Links Notation, listing
    the errors after the first too (see `recovery.py`).
    """
    if not isinstance(text, str):
        raise DslSyntaxError([Problem(f"expected text, got {type(text).__name__}", source)])
    if len(text) > max_chars:
        limit = f"{max_chars // 1024} KiB" if max_chars >= 1024 else f"{max_chars} characters"
        line, column = locate(text, max_chars)  # where the document goes past the limit
        message = f"document is larger than the {limit} limit"
        raise DslSyntaxError([Problem(message, source, line, column, expected="a smaller document")])
    prepared = blank_comments(text) if comments else text
    depth = max(0, min(max_depth, DEPTH_CEILING))
    try:
        return _parse_once(prepared, source, depth)
    except DslSyntaxError as first:
        raise further_problems(first, prepared, lambda again: _parse_once(again, source, depth)) from None


def _parse_once(prepared: str, source: str, depth: int) -> list[Link]:
    """One LALR run over comment-free text; the first error ends it."""
    try:
        with _collector_paused():
            result = _parser().parse(Source(prepared, source, depth))  # Lark hands the Source to our lexer
    except UnexpectedInput as exc:
        raise _problem(exc, source, prepared) from None
    assert isinstance(result, list)
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while parsing.

    A parse allocates several objects per token and none of them form cycles, yet each allocation
    burst makes the collector rescan the growing heap: pausing it makes parsing about a third faster.
    Nothing awaits inside a parse, and the previous state is always restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _problem(exc: UnexpectedInput, source: str, text: str) -> DslSyntaxError:
    expected_names = sorted({_TERMINAL_NAMES.get(name, name) for name in getattr(exc, "expected", ()) or ()})
    expected = ", ".join(expected_names) or None
    hint = None
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        what = _describe(token)
        if token.type in ("_COLON", "ID"):
            hint = (
                "a ':' may only follow the single reference that starts a line or group; "
                "quote references that contain ':' (URLs, host:port, times), e.g. "
                + _quoted_suggestion(token, text)
            )
        line, column = token.line, token.column
        if token.type == "ID" and isinstance(token.end_pos, int):
            line, column = locate(text, token.end_pos)  # point at the ':' itself
        if token.type == "$END":
            line, column = exc.line, exc.column
        message = f"unexpected {what}"
    elif isinstance(exc, UnexpectedEOF):
        message, line, column = "unexpected end of the document", None, None
    elif isinstance(exc, UnexpectedCharacters):
        message, line, column = "unexpected character", exc.line, exc.column
    else:
        message, line, column = "invalid Links Notation", None, None
    return DslSyntaxError(
        [Problem(message, source, _position(line), _position(column), expected=expected, hint=hint)]
    )


def _quoted_suggestion(token: Token, text: str) -> str:
    """The bare word around a misplaced ':' (`http://h:1/v1`), quoted as it should be written."""
    start = token.start_pos
    if token.type != "ID" or not isinstance(start, int) or text[start] in "\"'`":
        return "'http://x'"
    end = start
    while end < len(text) and text[end] not in " \t\r\n()" and end - start < _SUGGESTION_MAX:
        end += 1
    word = text[start:end]
    if ":" not in word.rstrip(":") or end - start >= _SUGGESTION_MAX:
        return "'http://x'"
    return format_reference(word)


def _describe(token: Token) -> str:
    if token.type == "REF":
        return f"reference {str(token)[:40]!r}"
    if token.type == "ID":
        return f"':' after {str(token)[:40]!r}"
    return _TERMINAL_NAMES.get(token.type, token.type)


def _position(value: object) -> int | None:
    return value if isinstance(value, int) and value > 0 else None
