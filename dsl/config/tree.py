"""The config view of a Links Notation document: blocks of `key value…` entries.

Pure. Links Notation gives links (an optional id plus values); config files read better as
"a key followed by arguments", where an argument is either a plain reference (a scalar) or a nested
entry. These helpers turn any of the equivalent spellings into one `Entry` shape:

    port 8080          anonymous link (port 8080)        -> Entry("port", [8080])
    port: 8080         link with id port                 -> Entry("port", [8080])
    main:              id link whose values are entries   -> Entry("main", [(oauth-home …), …])
      oauth-home /x
    litellm            seed provider form: a name with    -> Entry("litellm", [(kind …), …])
      kind "…"         indented `key value` children
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dsl.errors import Problem


class LinkLike(Protocol):
    """What the loader needs of a parsed link (dsl.lino.Link satisfies it)."""

    @property
    def id(self) -> str | None: ...

    @property
    def values(self) -> Sequence[LinkLike]: ...

    @property
    def line(self) -> int | None: ...

    @property
    def column(self) -> int | None: ...


@dataclass(frozen=True)
class Entry:
    key: str
    args: tuple[LinkLike, ...]
    line: int | None
    column: int | None
    node: LinkLike

    def has_inline_values(self) -> bool:
        """True when a plain value sits on the key's own line (`server: 8080`), so it is no block.

        A one-word line indented below the key (`model-aliases:` / `  gpt-4o`) is an entry of the
        block, not an inline value; links without positions count every plain value as inline.
        """
        for arg in self.args:
            if is_ref(arg):
                line, _ = position(arg)
                if line is None or self.line is None or line == self.line:
                    return True
        return False

    def scalars(self) -> list[str] | None:
        """The arguments as plain strings, or None if any argument is a nested link."""
        if any(not is_ref(a) for a in self.args):
            return None
        return [a.id or "" for a in self.args]


def is_ref(link: LinkLike) -> bool:
    """A plain reference (a word or quoted string): an id with no values."""
    return link.id is not None and not link.values


def position(link: LinkLike) -> tuple[int | None, int | None]:
    """Line and column of a link; 0 or a missing attribute (hand-built trees) means unknown."""
    line = getattr(link, "line", None) or None
    return line, (getattr(link, "column", None) or None) if line else None


def first_position(link: LinkLike) -> tuple[int | None, int | None]:
    """The position of a link, falling back to its first located descendant."""
    line, column = position(link)
    if line is not None:
        return line, column
    for value in link.values:
        line, column = first_position(value)
        if line is not None:
            return line, column
    return None, None


def to_entry(link: LinkLike) -> Entry | None:
    """The entry spelled by one link, or None if it does not start with a key."""
    if link.id is not None:
        line, column = first_position(link)
        return Entry(link.id, tuple(link.values), line, column, link)
    if link.values and is_ref(link.values[0]):
        head = link.values[0]
        line, column = first_position(head)
        if line is None:
            line, column = first_position(link)
        return Entry(head.id or "", tuple(link.values[1:]), line, column, link)
    return None


def entries_of(links: Sequence[LinkLike], file: str, where: str) -> tuple[list[Entry], list[Problem]]:
    """Entries of a block's values; a value that is not `key …` is reported, never dropped silently."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for link in links:
        entry = to_entry(link)
        if entry is None:
            line, column = first_position(link)
            problems.append(
                Problem(
                    f"unexpected nested group in {where}",
                    file,
                    line,
                    column,
                    expected="an entry that starts with a key, like `port 8080`",
                )
            )
            continue
        entries.append(entry)
    return entries, problems
