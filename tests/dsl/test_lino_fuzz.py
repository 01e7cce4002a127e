"""Fuzzing: whatever the text, `parse` returns links or raises a located `DslSyntaxError`, quickly.

Never a traceback, a RecursionError or a hang; and whatever parses survives a trip through the
formatter unchanged.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.errors import DslSyntaxError
from dsl.lino import Link, format_links, parse

_NASTY = ["\ud800", "\udfff", "\x00", "\x1b", "\x7f", "\ufeff", "\u2028", "\u00a0", "\t", "\r", "\r\n"]
_SYNTAX = ["(", ")", ":", " ", "  ", "\n", "#", '"', "'", "`", '""', "''", "~1{", "}", "~1{}", "a", "b:", "é"]

any_text = st.lists(st.one_of(st.characters(), st.sampled_from(_NASTY + _SYNTAX)), max_size=80).map("".join)
syntax_soup = st.lists(st.sampled_from(_SYNTAX + _NASTY), max_size=60).map("".join)
deep = st.tuples(st.integers(0, 300), st.sampled_from(["(", "a:\n", " (", "\n(", ":("])).map(
    lambda p: p[1] * p[0]
)


def _parses_or_fails_cleanly(text: str) -> None:
    try:
        links = parse(text, source="fuzz.lino")
    except DslSyntaxError as exc:
        assert exc.problems, "an error must say what is wrong"
        for problem in exc.problems:
            assert problem.file == "fuzz.lino"
            assert problem.message
            assert problem.line is None or problem.line >= 1
            assert problem.column is None or problem.column >= 1
        assert "Traceback" not in str(exc)
        return
    assert all(isinstance(link, Link) for link in links)
    assert parse(format_links(links)) == links


@pytest.fixture(autouse=True, scope="module")
def _built_parser() -> None:
    """Build the cached Lark parser before the clock starts: the deadline is for parsing alone."""
    parse("warm: up")


# Generous for inputs of at most a few hundred characters, which parse in well under a millisecond:
# the margin is for a loaded machine, not for the parser.
_FAST = settings(
    max_examples=200,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow],
)


@_FAST
@given(any_text)
def test_any_text(text: str) -> None:
    _parses_or_fails_cleanly(text)


@_FAST
@given(syntax_soup)
def test_syntax_soup(text: str) -> None:
    _parses_or_fails_cleanly(text)


@settings(max_examples=50, deadline=timedelta(seconds=1))
@given(deep)
def test_deep_nesting_of_every_kind(text: str) -> None:
    _parses_or_fails_cleanly(text)
