"""`format_links()`: links back to Links Notation text.

The default output is canonical and round-trips: `parse(format_links(parse(x))) == parse(x)`.
It follows links-notation 0.27's default formatter (`(id: v1 v2)`, `(v1 v2)`, `()`, quoting with
the shortest odd run of a delimiter the text lacks, `~1{HEX}` for the empty reference and control
characters) except for one case where upstream does not round-trip: a top-level reference is
written `(x:)`, because upstream's `(x)` reads back as a one-value link. `FormatOptions` selects
upstream's spelling, the less-parentheses style and the indented `id:\\n  v1\\n  v2` layout.

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from dsl.lino.link import Link

_QUOTES = ("'", '"', "`")
_NEEDS_QUOTING = frozenset("\ufeff():\"'`")


@dataclass(frozen=True)
class FormatOptions:
    """How `format_links` lays text out; the defaults give canonical, round-tripping text."""

    less_parentheses: bool = False  # `id: a b` and `a b` at the top level where that is safe
    max_inline_refs: int | None = None  # a named link with more values is written `id:` + indented lines
    indent: str = "  "
    upstream_references: bool = False  # a top-level reference as `(x)`, exactly as links-notation writes it


@cache
def _literal_prefix() -> re.Pattern[str]:
    return re.compile(r"~[0-9]+\{")


def format_reference(text: str) -> str:
    """A reference as it must be written: bare when safe, else quoted or as a `~1{HEX}` literal."""
    if not text or any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        return "~1{" + text.encode("utf-8", "surrogatepass").hex() + "}"
    if (
        not text.startswith("#")
        and not _literal_prefix().match(text)
        and not any(c.isspace() or c in _NEEDS_QUOTING for c in text)
    ):
        return text
    best: tuple[int, str] | None = None
    for quote in _QUOTES:
        if text.startswith(quote):
            continue
        longest = max((len(run) for run in re.findall(re.escape(quote) + "+", text)), default=0)
        count = (longest + 1) | 1
        if best is None or count < best[0]:
            best = (count, quote)
    assert best is not None  # text starts with at most one of the three delimiters
    delimiter = best[1] * best[0]
    return delimiter + text + delimiter


def _needs_parentheses(name: str) -> bool:
    return any(c in name for c in " :()")


def _value(link: Link) -> str:
    if not link.values:
        return "()" if link.id is None else format_reference(link.id)
    return format_link(link)


def format_link(link: Link, options: FormatOptions = FormatOptions()) -> str:
    """One link, as a top-level line (or an indented block with `max_inline_refs`)."""
    if not link.values:
        if link.id is None:
            return "" if options.less_parentheses else "()"
        name = format_reference(link.id)
        if options.less_parentheses and not _needs_parentheses(link.id):
            return name
        return f"({name})" if options.upstream_references else f"({name}:)"
    if (
        link.id is not None
        and options.max_inline_refs is not None
        and len(link.values) > options.max_inline_refs
    ):
        lines = [f"{format_reference(link.id)}:"]
        lines.extend(options.indent + _value(v) for v in link.values)
        return "\n".join(lines)
    values = " ".join(_value(v) for v in link.values)
    if link.id is None:
        return values if options.less_parentheses else f"({values})"
    body = f"{format_reference(link.id)}: {values}"
    return body if options.less_parentheses and not _needs_parentheses(link.id) else f"({body})"


def format_links(links: Sequence[Link], options: FormatOptions = FormatOptions()) -> str:
    """A whole document: one line (or block) per top-level link, joined by newlines."""
    return "\n".join(format_link(link, options) for link in links)
