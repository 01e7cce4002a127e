"""Links Notation (lino): the parser and formatter under the gateway's config DSL.

`parse(text)` gives the links-notation 0.27 reading as a list of `Link`s and raises
`dsl.errors.DslSyntaxError` for anything else; `format_links(links)` writes canonical text that
parses back to the same links.
"""

from dsl.lino.formatter import FormatOptions, format_link, format_links
from dsl.lino.link import Link
from dsl.lino.parser import DEFAULT_MAX_CHARS, DEFAULT_MAX_DEPTH, parse

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_DEPTH",
    "FormatOptions",
    "Link",
    "format_link",
    "format_links",
    "parse",
]
