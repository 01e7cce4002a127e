"""Comment blanking: the pre-pass that removes `#` comments before tokenizing.

`#` starts a comment where a token could start: at the start of the document or after a space,
tab or line break. Inside a token (`issue#1047`) or a delimited reference (`"# x"`) it is an
ordinary character. Each comment character is replaced by a space rather than removed, so every
later character keeps its line and column, and a comment-only line becomes a blank line that does
not end an indented block.

Pure; no I/O.
"""

from __future__ import annotations

import re
from functools import cache

from dsl.lino.quotes import scan_delimited

_BEFORE_REFERENCE = frozenset(" \t\n\r(:")
_BEFORE_COMMENT = frozenset(" \t\n\r")


@cache
def _interesting() -> re.Pattern[str]:
    return re.compile("[#\"'`]")


@cache
def _line_end() -> re.Pattern[str]:
    return re.compile("[\r\n]")


def blank_comments(text: str) -> str:
    """Return `text` with every comment replaced by spaces; same length, same line breaks."""
    pieces: list[str] = []
    copied = 0
    position = 0
    interesting = _interesting()
    line_end = _line_end()
    while True:
        found = interesting.search(text, position)
        if found is None:
            break
        at = found.start()
        before = text[at - 1] if at else "\n"
        if text[at] == "#":
            if before not in _BEFORE_COMMENT:
                position = at + 1
                continue
            end_match = line_end.search(text, at)
            end = end_match.start() if end_match else len(text)
            pieces.append(text[copied:at])
            pieces.append(" " * (end - at))
            copied = position = end
            continue
        scanned = scan_delimited(text, at) if before in _BEFORE_REFERENCE else None
        position = at + 1 if scanned is None else scanned[1]
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)
