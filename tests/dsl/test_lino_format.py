"""The formatter: canonical text, upstream's spellings on request, and round-tripping."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.lino import FormatOptions, Link, format_link, format_links, parse
from dsl.lino.formatter import format_reference

REFERENCES = [
    ("plain", "plain"),
    ("a-b_c.d/e@f", "a-b_c.d/e@f"),
    ("a b", "'a b'"),
    ("host:port", "'host:port'"),
    ("(x)", "'(x)'"),
    ("it's", '"it\'s"'),
    ('say "hi" it\'s', '`say "hi" it\'s`'),
    ("'quoted'", "\"'quoted'\""),
    ("#tag", "'#tag'"),
    ("issue#1", "issue#1"),
    ("~1{00}", "'~1{00}'"),
    ("", "~1{}"),
    ("a\nb", "~1{610a62}"),
    ("tab\there", "~1{7461620968657265}"),
    ("é λ", "'é λ'"),
    ("a\u00a0b", "'a\u00a0b'"),
    ("''' and \"\"\" and ```", '"""""\'\'\' and """ and ```"""""'),
]


@pytest.mark.parametrize(("text", "written"), REFERENCES)
def test_references_are_written_bare_quoted_or_as_literals(text: str, written: str) -> None:
    assert format_reference(text) == written
    [link] = parse(f"x {written}")
    assert link.values[1].id == text


GOLDEN = [
    ("papa loves mama", "(papa loves mama)"),
    ("family: papa mama", "(family: papa mama)"),
    ("a:\n  b c\n  d", "(a: (b c) d)"),
    ("a\n  b\n  c", "(a)\n((a) (b))\n((a) (c))"),
    ("(a () b)", "(a () b)"),
    ("((a b))", "((a b))"),
    ("()", "()"),
    ("empty:", "(empty:)"),
    ("x: 'a b' \"it's\"", "(x: 'a b' \"it's\")"),
]


@pytest.mark.parametrize(("text", "formatted"), GOLDEN)
def test_canonical_text(text: str, formatted: str) -> None:
    assert format_links(parse(text)) == formatted
    assert parse(formatted) == parse(text)


def test_upstream_spelling_of_a_top_level_reference_does_not_round_trip() -> None:
    links = parse("empty:")
    assert format_links(links, FormatOptions(upstream_references=True)) == "(empty)"
    assert parse("(empty)") != links  # why the canonical form writes (empty:)


def test_less_parentheses() -> None:
    links = parse("lovesMama: loves mama\npapa lovesMama\nall (love mama)\n'a b': c")
    assert format_links(links, FormatOptions(less_parentheses=True)) == (
        "lovesMama: loves mama\npapa lovesMama\nall (love mama)\n('a b': c)"
    )


def test_indented_layout_round_trips() -> None:
    links = parse("provider:\n  kind: openai\n  models: a b\n  plain\n  (x y)\n  ()")
    text = format_links(links, FormatOptions(max_inline_refs=0, indent="    "))
    assert text == "provider:\n    (kind: openai)\n    (models: a b)\n    plain\n    (x y)\n    ()"
    assert parse(text) == links


def test_format_link_formats_one_link() -> None:
    assert format_link(Link("a", (Link("b"), Link(None, (Link("c"), Link("d")))))) == "(a: b (c d))"


def test_formatting_nothing_gives_nothing() -> None:
    assert format_links([]) == ""
    assert parse("") == []


_text = st.text(st.characters(codec="utf-8"), max_size=6)  # valid Unicode: no lone surrogates
_ids = st.one_of(st.none(), _text, st.sampled_from(["a", "b:c", "#x", "~1{}", "'", '"', "`"]))


def _links(depth: int) -> st.SearchStrategy[Link]:
    if depth == 0:
        return st.builds(Link, _ids)
    return st.builds(Link, _ids, st.lists(_links(depth - 1), max_size=3).map(tuple))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_links(3), max_size=4))
def test_any_links_round_trip_through_canonical_text(links: list[Link]) -> None:
    text = format_links(links)
    assert parse(text) == links
    assert format_links(parse(text)) == text  # idempotent


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_links(3), max_size=4))
def test_named_links_round_trip_through_the_indented_layout(links: list[Link]) -> None:
    named = [link for link in links if link.id is not None and link.values]
    text = format_links(named, FormatOptions(max_inline_refs=0))
    assert parse(text) == named
