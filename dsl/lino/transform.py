"""From Lark's reductions to `Link`s: the lines of a document and the upstream "links" reading.

The Transformer runs inline with the LALR parser, so it builds small plain objects bottom-up and
never recurses over a tree. Each line becomes a `Line` (its own link plus its indented children);
`flatten` then gives the links-notation 0.27 reading of those lines:

- children of an indented id (`id:` alone on its line) become that id's values, keeping their own
  ids and children;
- children of any other line become extra top-level "path" links pairing the path so far with
  the child (`a\\n  b` gives `(a)` and `((a) (b))`);
- a group holding exactly one link collapses to it, unless that link was itself a group.

Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from lark import Token, Transformer

from dsl.lino.link import Link


class LineKind(StrEnum):
    VALUES = "values"  # `a b c`
    ID = "id"  # `id: a b`
    INDENTED_ID = "indented-id"  # `id:` with nothing after the colon
    GROUP = "group"  # a line that is exactly one parenthesised group


class Group(NamedTuple):
    """A parenthesised group, before it is known whether it stands alone on its line."""

    link: Link


class Line(NamedTuple):
    """One line: its own link, what kind of line it is, and its indented children.

    A NamedTuple rather than a frozen dataclass: one is built per line, and it never leaves the
    parser, so the cheaper construction is worth it.
    """

    kind: LineKind
    link: Link
    children: tuple[Line, ...] = ()


def _value(value: Token | Group) -> Link:
    if isinstance(value, Group):
        return value.link
    return Link(value.value, (), value.line or 0, value.column or 0)


def _values(found: list[Token | Group]) -> tuple[Link, ...]:
    return tuple([_value(v) for v in found])


class LinoTransformer(Transformer[Token, list[Link]]):
    """Callbacks for grammar.lark; stateless, so one instance serves every parse."""

    def start(self, items: list[list[Line]]) -> list[Link]:
        return flatten(items[0]) if items else []

    def lines(self, items: list[Any]) -> list[Line]:
        if len(items) == 1:
            return [items[0]]
        items[0].append(items[1])  # LALR reduces each list once, left to right: safe to grow it
        return items[0]  # type: ignore[no-any-return]

    def values(self, items: list[Any]) -> list[Token | Group]:
        if len(items) == 1:
            return [items[0]]
        items[0].append(items[1])
        return items[0]  # type: ignore[no-any-return]

    def id_line(self, items: list[Any]) -> Line:
        name: Token = items[0]
        found: list[Token | Group] | None = items[1]
        children = () if items[2] is None else tuple(items[2])
        line, column = name.line or 0, name.column or 0
        if found is None:
            return Line(LineKind.INDENTED_ID, Link(name.value, (), line, column), children)
        return Line(LineKind.ID, Link(name.value, _values(found), line, column), children)

    def values_line(self, items: list[Any]) -> Line:
        found: list[Token | Group] = items[0]
        children = () if items[1] is None else tuple(items[1])
        first = found[0]
        if len(found) == 1 and isinstance(first, Group):
            return Line(LineKind.GROUP, first.link, children)
        values = _values(found)
        head = values[0]
        return Line(LineKind.VALUES, Link(None, values, head.line, head.column), children)

    def group(self, items: list[Any]) -> Group:
        opening: Token = items[0]
        lines: list[Line] = items[1] if len(items) > 1 else []
        links = flatten(lines)
        if len(links) == 1 and not (len(lines) == 1 and lines[0].kind is LineKind.GROUP):
            return Group(links[0])
        return Group(Link(None, tuple(links), opening.line or 0, opening.column or 0))


def flatten(lines: Sequence[Line]) -> list[Link]:
    """The upstream Link list for a sequence of sibling lines at the top of a context."""
    result: list[Link] = []
    for line in lines:
        _collect(line, (), result)
    return result


def _collect(line: Line, path: tuple[Link, ...], result: list[Link]) -> None:
    if line.kind is LineKind.INDENTED_ID and line.children:
        own = Link(line.link.id, tuple(_as_value(c) for c in line.children), line.link.line, line.link.column)
        result.append(_along(path, own))
        return
    result.append(_along(path, line.link))
    if line.children:
        deeper = (*path, line.link)
        for child in line.children:
            _collect(child, deeper, result)


def _as_value(line: Line) -> Link:
    """A child line under an indented id, as one value of that id (0.27.1 keeps ids and children)."""
    own = line.link
    if line.children:
        if line.kind is LineKind.INDENTED_ID:
            return Link(own.id, tuple(_as_value(c) for c in line.children), own.line, own.column)
        extra = tuple(_as_value(c) for c in line.children)
        return Link(own.id, own.values + extra, own.line, own.column)
    if line.kind is LineKind.VALUES and len(own.values) == 1:
        return own.values[0]
    return own


def _along(path: tuple[Link, ...], link: Link) -> Link:
    """Pair the path of ancestor links with `link`: ((p0 p1) … link), nesting to the left."""
    if not path:
        return link
    combined = path[0]
    for ancestor in path[1:]:
        combined = Link(None, (combined, ancestor), ancestor.line, ancestor.column)
    return Link(None, (combined, link), link.line, link.column)
