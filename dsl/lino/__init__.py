"""Links Notation (lino): the parser and formatter under the gateway's config DSL.

`parse(text)` gives the links-notation 0.27 reading as a list of `Link`s and raises
`dsl.errors.DslSyntaxError` for anything else; `format_links(links)` writes canonical text that
parses back to the same links.

Where links-notation 0.27.1 (the Python package) is lenient, we are strict: we follow the grammar
and the JS/Rust/C# suites, and refuse a few more things that in a config file are mistakes:

- a ':' may only follow the single reference that starts a line or group (`url: http://x`,
  `a b: c` and a lone `:` are errors: quote such references); unbalanced parentheses are errors;
- a bare word ends at any blank, tab included, and quotes inside it are ordinary characters;
- a quote that opens a reference nothing closes is an error (the PEG grammar reads it as a bare
  word, upstream Python reads on to a later quote; in a config it is a forgotten closing quote);
- a lone CR ends a line, as in the grammar since 0.21;
- a dedent to an indentation that no enclosing block opened is an error, and so is a tab in the
  indentation (upstream silently reads both in ways that differ between implementations);
- control characters and unpaired surrogates are errors (write them as `~1{HEX}` literals);
- documents over `DEFAULT_MAX_CHARS` are refused, and nesting is capped at 100 levels whatever
  `max_depth` asks.

The formatter writes a top-level reference as `(x:)` and an empty link among values as `()`, where
upstream writes `(x)` and nothing, so that its output always parses back to the same links.
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
