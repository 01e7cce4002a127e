"""The `Link`: one parsed link, structurally the same as links-notation 0.27's `Link`.

A reference is a link with an id and no values (`Link("x")`); an anonymous link has values and no
id; `Link(None)` is the empty link `()`. Positions are carried for error messages but take no part
in equality, so links parsed from differently laid-out text compare equal.

Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    """A link: an optional id and zero or more values, each itself a link."""

    id: str | None
    values: tuple[Link, ...] = ()
    line: int = field(default=0, compare=False, repr=False)
    column: int = field(default=0, compare=False, repr=False)

    @property
    def is_reference(self) -> bool:
        """True for a plain reference: an id and no values."""
        return self.id is not None and not self.values
