"""Helpers for the Links Notation tests: the corpus's compact and rendered forms, and the oracle."""

from __future__ import annotations

from typing import Any

from dsl.lino import Link


def compact(link: Link) -> Any:
    """The conformance corpus's compact structure: "ref", [values…] or {"id": …, "values": […]}."""
    if not link.values:
        return [] if link.id is None else link.id
    values = [compact(v) for v in link.values]
    return values if link.id is None else {"id": link.id, "values": values}


def render(link: Link) -> str:
    """The unambiguous rendering of the newer upstream tests: <ref>, (v1 v2), (<id>: v1 v2)."""
    if not link.values:
        return "()" if link.id is None else f"<{link.id}>"
    values = " ".join(render(v) for v in link.values)
    return f"({values})" if link.id is None else f"(<{link.id}>: {values})"


def from_reference(link: Any) -> Link:
    """Our `Link` for a `links_notation.Link` (the reference package, used only as a test oracle)."""
    return Link(link.id, tuple(from_reference(v) for v in link.values))
