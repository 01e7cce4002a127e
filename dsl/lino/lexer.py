"""The tokenizer Lark parses from: references, parentheses, colons, line ends and indentation.

Hand-written because two parts of the notation are not regular: n-quote references (see
`quotes.py`) and indentation, which restarts inside every parenthesis, so each open group keeps its
own stack of indentation levels. A `)` ends the group's last line as a line break would.

The nesting limit is enforced here, while tokenizing, so nothing downstream ever sees more than
`max_depth` levels of parentheses plus indentation: 10,000 open parentheses cost one error, not a
recursion. Errors are raised as `DslSyntaxError` with the file, line and column.

Tokens: REF (a reference, decoded), ID (a reference with the ':' after it, joined here to spare the
parser a token per line), _COLON (a ':' after nothing, always an error), LPAR, _RPAR, and _NL,
_INDENT, _DEDENT for the line structure. Lines with no quotes or parentheses, the bulk of a config,
take a fast path: one regex pass for the whole line.

Pure: text in, tokens out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from lark import Token

from dsl.errors import DslSyntaxError, Problem
from dsl.lino.quotes import scan_delimited
from dsl.lino.source import Source, check_characters, decode_literal, syntax_error


@dataclass
class _Context:
    """The indentation state of the root or of one open parenthesis."""

    line: int
    column: int
    levels: list[int] = field(default_factory=lambda: [0])
    base: int | None = None
    open_line: bool = False


@dataclass(frozen=True)
class _Patterns:
    master: re.Pattern[str]
    literal: re.Pattern[str]
    colon_after: re.Pattern[str]
    special: re.Pattern[str]
    words: re.Pattern[str]
    lead: re.Pattern[str]


@cache
def _patterns() -> _Patterns:
    return _Patterns(
        master=re.compile(
            r"(?P<ws>[ \t]+)|(?P<nl>\r\n?|\n)|(?P<lpar>\()|(?P<rpar>\))|(?P<colon>:)"
            r"|(?P<quote>[\"'`])|(?P<ref>[^ \t\r\n():]+)"
        ),
        literal=re.compile(r"~[0-9]+\{"),
        colon_after=re.compile(r"[ \t]*:"),
        special=re.compile("[\r\"'`()]"),
        # A word, optionally followed by its ':' (an ID), or a ':' on its own.
        words=re.compile(r"([^ \t:]+)([ \t]*:)?|:"),
        lead=re.compile(r"[ \t]*"),
    )


def new_token(kind: str, value: str, offset: int, line: int, column: int) -> Token:
    """A Lark token, built directly: Lark's own constructor costs twice as much, per token."""
    token = str.__new__(Token, value)
    token.type, token.value, token.start_pos, token.line, token.column = kind, value, offset, line, column
    token.end_line = token.end_column = token.end_pos = None
    return token


def tokenize(source: Source) -> Iterator[Token]:
    """Yield Lark tokens for `source.text`, or raise `DslSyntaxError` at the first bad character."""
    check_characters(source)
    return _Scanner(source).tokens()


class _Scanner:
    """The state of one tokenize call: position, line, and one indentation context per open '('."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.text = source.text
        self.pos = 1 if self.text.startswith("\ufeff") else 0
        self.line_no, self.line_start = 1, self.pos
        self.contexts = [_Context(1, 1)]
        self.depth = 0

    def _token(self, kind: str, value: str, offset: int) -> Token:
        return new_token(kind, value, offset, self.line_no, offset - self.line_start + 1)

    def _deeper(self, offset: int) -> None:
        self.depth += 1
        if self.depth > self.source.max_depth:
            raise _too_deep(self.source, offset)

    def _indentation(self, after_paren: bool) -> list[Token]:
        """Read a line's leading whitespace; the _INDENT/_DEDENT tokens it means, if it holds something."""
        text, start = self.text, self.pos
        lead = _patterns().lead.match(text, start)
        assert lead is not None  # the pattern matches the empty string
        lead_end = self.pos = lead.end()
        if lead_end >= len(text) or text[lead_end] in "\r\n)":
            return []  # a blank line, or a ')' that closes the context: no indentation to judge
        tab = text.find("\t", start, lead_end)
        if tab < 0:
            width = lead_end - start
        elif after_paren:  # text right after '(' starts a fresh context: tabs there are just blanks
            width = tab - start
        else:
            raise syntax_error(self.source, tab, "tab in indentation", hint="indent with spaces")
        ctx = self.contexts[-1]
        if ctx.base is None:
            ctx.base = width
        indent = width - ctx.base if width > ctx.base else 0
        levels = ctx.levels
        if indent == levels[-1]:
            return []
        if indent > levels[-1]:
            self._deeper(lead_end)
            levels.append(indent)
            return [self._token("_INDENT", "", lead_end)]
        enclosing = [level + ctx.base for level in levels]
        dedents = []
        while levels[-1] > indent:
            levels.pop()
            self.depth -= 1
            dedents.append(self._token("_DEDENT", "", lead_end))
        if levels[-1] != indent:
            raise syntax_error(
                self.source,
                lead_end,
                "this line's indentation matches no enclosing block",
                expected=" or ".join(str(width) for width in enclosing) + " spaces",
            )
        return dedents

    def _line_break(self, offset: int, width: int) -> list[Token]:
        """A line break at `offset`: end the line (if it held anything) and read the next one's indent."""
        ctx = self.contexts[-1]
        ended = []
        if ctx.open_line:
            ctx.open_line = False
            ended.append(self._token("_NL", "", offset))
        self.pos = offset + width
        self.line_no, self.line_start = self.line_no + 1, self.pos
        indentation = self._indentation(after_paren=False)
        return ended + indentation if indentation else ended

    def _close(self) -> Iterator[Token]:
        """A ')': end the group's last line and its blocks, and return to the enclosing context."""
        if len(self.contexts) == 1:
            raise syntax_error(self.source, self.pos, "unmatched ')'", hint="no '(' before it is still open")
        ctx = self.contexts.pop()
        if ctx.open_line:
            yield self._token("_NL", "", self.pos)
        for _ in ctx.levels[1:]:
            yield self._token("_DEDENT", "", self.pos)
        self.depth -= len(ctx.levels)
        yield self._token("_RPAR", ")", self.pos)
        self.pos += 1

    def _quoted(self, scanned: tuple[str, int]) -> Token:
        value, end = scanned
        start = self.pos
        token = self._word("REF", value, start, end)
        span = self.text[start:end]
        breaks = span.count("\n") + span.count("\r") - span.count("\r\n")
        if breaks:  # a delimited reference may span lines; later tokens need the right line
            self.line_no += breaks
            self.line_start = start + max(span.rfind("\n"), span.rfind("\r")) + 1
        return token

    def _word(self, kind: str, value: str, offset: int, end: int) -> Token:
        """A reference token; with a ':' right after it (spaces allowed) it is an ID token instead."""
        colon = _patterns().colon_after.match(self.text, end)
        self.pos = end if colon is None else colon.end()
        token = self._token(kind if colon is None else "ID", value, offset)
        if colon is not None:
            token.end_pos = colon.end() - 1  # where the ':' is, for error messages
        return token

    def _fast_words(self, end: int) -> list[Token]:
        """The common case: the rest of a line holds only words, colons and blanks."""
        patterns = _patterns()
        literal, line_no, base = patterns.literal, self.line_no, self.line_start - 1
        found: list[Token] = []
        for match in patterns.words.finditer(self.text, self.pos, end):
            offset = match.start()
            value, colon = match.groups()
            if value is None:
                found.append(new_token("_COLON", ":", offset, line_no, offset - base))
                continue
            if value[0] == "~" and literal.match(value):
                value = decode_literal(self.source, offset, value)
            token = new_token("REF" if colon is None else "ID", value, offset, line_no, offset - base)
            if colon is not None:
                token.end_pos = match.end() - 1  # where the ':' is, for error messages
            found.append(token)
        if found:
            self.contexts[-1].open_line = True
        self.pos = end
        return found

    def tokens(self) -> Iterator[Token]:
        patterns = _patterns()
        master, special = patterns.master, patterns.special
        text, size = self.text, len(self.text)
        yield from self._indentation(after_paren=False)
        line_end = -1
        while self.pos < size:
            pos = self.pos
            if pos > line_end:  # entering a line: take it in one step if nothing in it is special
                found = text.find("\n", pos)
                line_end = size if found < 0 else found
                words_end = line_end - 1 if line_end > pos and text[line_end - 1] == "\r" else line_end
                if special.search(text, pos, words_end) is None:
                    yield from self._fast_words(words_end)
                    if words_end >= size:
                        break
                    yield from self._line_break(words_end, 2 if words_end < line_end else 1)
                    continue
            ctx = self.contexts[-1]
            match = master.match(text, pos)
            assert match is not None  # the alternatives cover every character
            kind = match.lastgroup
            if kind == "ws":
                self.pos = match.end()
            elif kind == "nl":
                yield from self._line_break(pos, match.end() - pos)
            elif kind == "ref":
                value = match.group()
                if value[0] == "~" and patterns.literal.match(value):
                    value = decode_literal(self.source, pos, value)
                ctx.open_line = True
                yield self._word("REF", value, pos, match.end())
            elif kind == "quote":
                ctx.open_line = True
                scanned = scan_delimited(text, pos)
                if scanned is None:
                    raise _unterminated(self.source, pos)
                yield self._quoted(scanned)
            elif kind == "colon":
                ctx.open_line = True
                yield self._token("_COLON", ":", pos)
                self.pos = pos + 1
            elif kind == "lpar":
                ctx.open_line = True
                self._deeper(pos)
                yield self._token("LPAR", "(", pos)
                self.contexts.append(_Context(self.line_no, pos - self.line_start + 1))
                self.pos = pos + 1
                yield from self._indentation(after_paren=True)
            else:
                yield from self._close()
        yield from self._finish()

    def _finish(self) -> Iterator[Token]:
        ctx = self.contexts[-1]
        if len(self.contexts) > 1:
            raise DslSyntaxError(
                [Problem("'(' is never closed", self.source.name, ctx.line, ctx.column, expected="')'")]
            )
        if ctx.open_line:
            yield self._token("_NL", "", self.pos)
        for _ in ctx.levels[1:]:
            yield self._token("_DEDENT", "", self.pos)


def _unterminated(source: Source, offset: int) -> DslSyntaxError:
    """A quote that opens a reference no run of the same delimiter closes.

    The PEG grammar would read it as plain text up to the next blank; in a config that is nearly
    always a forgotten closing quote, and the text after it would silently change meaning.
    """
    text, end = source.text, offset
    while end < len(text) and text[end] == text[offset]:
        end += 1
    opening = text[offset:end] if end - offset <= 6 else f"run of {end - offset} {text[offset]}"
    return syntax_error(
        source,
        offset,
        f"unterminated quote: nothing closes the {opening} opened here",
        expected=f"a closing {opening}",
        hint="a quote inside a value is written twice, or the value is quoted with another delimiter",
    )


def _too_deep(source: Source, offset: int) -> DslSyntaxError:
    return syntax_error(
        source,
        offset,
        f"nesting too deep: more than {source.max_depth} levels of parentheses and indentation",
        hint="flatten the structure",
    )
