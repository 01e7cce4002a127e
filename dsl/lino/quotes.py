"""Delimited references: how far an n-quote reference reaches, and what it says.

A run of N identical delimiters (`"`, `'` or a backtick) opens a reference; it closes at a run of
exactly N of them not followed by one more, and inside it 2N delimiters stand for N literal ones.
That is the notation's only escape. An even run that opens nothing substantive is the empty
reference. None of this is regular, which is why it is scanned here by hand rather than by Lark.

Pure; no I/O, no parser state.
"""

from __future__ import annotations

import re
from functools import cache

QUOTE_CHARS = frozenset("\"'`")


@cache
def _run_pattern(quote: str) -> re.Pattern[str]:
    return re.compile(re.escape(quote) + "+")


def scan_delimited(text: str, start: int) -> tuple[str, int] | None:
    """Read the delimited reference opening at `start`.

    Returns `(value, end)` with `end` just past the closing run, or None when `text[start]` does not
    open a terminated delimited reference (the caller then reads it as plain reference text).
    """
    if start >= len(text) or text[start] not in QUOTE_CHARS:
        return None
    quote = text[start]
    runs = _run_pattern(quote)
    opening = runs.match(text, start)
    assert opening is not None  # text[start] is the quote itself
    width = opening.end() - start
    empty = ("", opening.end()) if width % 2 == 0 else None
    parts: list[str] = []
    position = opening.end()
    while True:
        found = runs.search(text, position)
        if found is None:
            return empty
        parts.append(text[position : found.start()])
        length = found.end() - found.start()
        # Greedy left-to-right reading of one run: escapes (2N) first, then a closing run of N.
        escapes, rest = divmod(length, 2 * width)
        if rest >= width:
            parts.append(quote * (width * escapes + rest - width))
            value = "".join(parts)
            if empty is not None and not _is_substantive(value):
                return empty
            return value, found.end()
        parts.append(quote * (width * escapes + rest))
        position = found.end()


def _is_substantive(body: str) -> bool:
    """Whether an even-run body carries something a bare delimiter pair cannot.

    It must hold a visible character and not straddle a parenthesis; otherwise the run is read as
    delimiter pairs enclosing nothing (the empty reference), as links-notation 0.15+ does.
    """
    if not body or body.isspace():
        return False
    depth = 0
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
