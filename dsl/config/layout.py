"""Canonical layout of a config file (`config fmt`): indented blocks, comments kept.

Pure. Writes each top-level link as a `key:` block with one entry per line, nested entries
indented by two spaces, references quoted only when needed (the parser package's quoting), one
blank line between top-level blocks. The output always parses to exactly the same links as the
input; when a link has a shape this layout cannot spell, the whole document falls back to the
parser package's canonical `format_links` text (and comments cannot be kept then).

Comments: every `#` comment is kept and placed on its own line just above the entry that followed
it in the input, at that entry's indentation; a comment at the end of a line moves to its own line
above that line; comments after the last entry stay at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dsl.lino import Link, format_links, parse
from dsl.lino.comments import blank_comments
from dsl.lino.formatter import format_link, format_reference

INDENT = "  "


@dataclass(frozen=True)
class Formatted:
    text: str
    comments_kept: bool
    """False only when the fallback layout had to drop the file's comments."""


def format_config(text: str, source: str = "<string>") -> Formatted:
    """The canonical text of a config file; raises DslSyntaxError if it does not parse."""
    links = parse(text, source=source)
    comments = extract_comments(text)
    writer = _Writer(comments=list(comments))
    for index, link in enumerate(links):
        if index:
            writer.lines.append("")
        writer.top(link)
    writer.flush(None, "")
    laid_out = "".join(line + "\n" for line in writer.lines)
    if _same(parse(laid_out, source=source), links):
        return Formatted(laid_out, True)
    fallback = format_links(links) + "\n" if links else ""
    return Formatted(fallback, not comments)


def extract_comments(text: str) -> list[tuple[int, str]]:
    """(line number, comment text) for every comment, found by what the parser blanks out."""
    found: list[tuple[int, str]] = []
    for number, (original, blanked) in enumerate(
        zip(text.splitlines(), blank_comments(text).splitlines(), strict=False), start=1
    ):
        if original == blanked:
            continue
        start = next(i for i, (a, b) in enumerate(zip(original, blanked, strict=False)) if a != b)
        found.append((number, original[start:].rstrip()))
    return found


def _same(left: Sequence[Link], right: Sequence[Link]) -> bool:
    return list(left) == list(right)


def _is_ref(link: Link) -> bool:
    return link.id is not None and not link.values


@dataclass
class _Writer:
    comments: list[tuple[int, str]]
    lines: list[str] = field(default_factory=list)

    def flush(self, line: int | None, indent: str) -> None:
        while self.comments and (line is None or self.comments[0][0] <= line):
            self.lines.append(indent + self.comments.pop(0)[1])

    def top(self, link: Link) -> None:
        self.flush(link.line or None, "")
        if link.id is None:
            self.lines.append(format_link(link))
        else:
            self.named(link, "")

    def named(self, link: Link, indent: str) -> None:
        key = format_reference(link.id or "")
        if all(_is_ref(v) for v in link.values):
            words = " ".join(format_reference(v.id or "") for v in link.values)
            self.lines.append(f"{indent}{key}: {words}" if words else f"{indent}{key}:")
            return
        self.lines.append(f"{indent}{key}:")
        for value in link.values:
            self.child(value, indent + INDENT)

    def child(self, link: Link, indent: str) -> None:
        self.flush(_line(link), indent)
        if _is_ref(link):
            self.lines.append(indent + format_reference(link.id or ""))
            return
        if link.id is not None:
            self.named(link, indent)
            return
        head = 0
        while head < len(link.values) and _is_ref(link.values[head]):
            head += 1
        rest = link.values[head:]
        if head == 0 or len(link.values) == 1 or any(_is_ref(v) for v in rest):
            self.lines.append(indent + format_link(link))  # not an entry shape: keep it inline
            return
        self.lines.append(indent + " ".join(format_reference(v.id or "") for v in link.values[:head]))
        for value in rest:
            self.child(value, indent + INDENT)


def _line(link: Link) -> int | None:
    if link.line:
        return link.line
    for value in link.values:
        found = _line(value)
        if found:
            return found
    return None
