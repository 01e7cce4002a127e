"""Parsing: the structures users write, line endings, positions, comments and quoting."""

from __future__ import annotations

from typing import Any

import pytest

from dsl.lino import Link, parse
from tests.support.lino import compact

STRUCTURES: list[tuple[str, Any]] = [
    ("", []),
    ("   \n\n  ", []),
    ("papa loves mama", [["papa", "loves", "mama"]]),
    ("hello", [["hello"]]),
    ("family: papa mama", [{"id": "family", "values": ["papa", "mama"]}]),
    ("a:b", [{"id": "a", "values": ["b"]}]),
    ("a :b", [{"id": "a", "values": ["b"]}]),
    ("a:", ["a"]),
    ("(a:)", ["a"]),
    ("()", [[]]),
    ("(a b c)", [["a", "b", "c"]]),
    ("((a b))", [[["a", "b"]]]),
    ("(multi\nline)", [[["multi"], ["line"]]]),
    ("a:\n  b c\n  d", [{"id": "a", "values": [["b", "c"], "d"]}]),
    ("a\n  b\n  c", [["a"], [["a"], ["b"]], [["a"], ["c"]]]),
    (
        "image:\n    file: .gitpod.Dockerfile\n    context: ./docker-content",
        [
            {
                "id": "image",
                "values": [
                    {"id": "file", "values": [".gitpod.Dockerfile"]},
                    {"id": "context", "values": ["./docker-content"]},
                ],
            }
        ],
    ),
    (
        "root:\n  child1\n  child2\n    grandchild",
        [{"id": "root", "values": ["child1", ["child2", "grandchild"]]}],
    ),
    ("array (\n  a\n    b\n)", [["array", [["a"], [["a"], ["b"]]]]]),
    ("a: b\n\n\n  c", [{"id": "a", "values": ["b"]}, [{"id": "a", "values": ["b"]}, ["c"]]]),
    ("  a\n  b", [["a"], ["b"]]),
    (
        "-1 1.5e3 true [1,2] {a} a,b a=b @#$%^&*!",
        [["-1", "1.5e3", "true", "[1,2]", "{a}", "a,b", "a=b", "@#$%^&*!"]],
    ),
    ("a\u00a0b", [["a\u00a0b"]]),
    ('"full name": x', [{"id": "full name", "values": ["x"]}]),
    ('"": 1', [{"id": "", "values": ["1"]}]),
    ('a"b"', [['a"b"']]),
    ('"a"b', [["a", "b"]]),
    ('"a "" b"', [['a " b']]),
    ("'''x'''", [["x"]]),
    ('""text with " inside""', [['text with " inside']]),
    ("'''text with '''''' escaped triple'''", [["text with ''' escaped triple"]]),
    ('"multi\nline" x', [["multi\nline", "x"]]),
    ("~1{} ~1{C3A9}", [["", "é"]]),
    ("'~1{}'", [["~1{}"]]),
    ("a: b # why", [{"id": "a", "values": ["b"]}]),
    ("issue#1047 b#c", [["issue#1047", "b#c"]]),
    ('"# kept" x', [["# kept", "x"]]),
    ("a:\n  # a comment inside the block\n  b", [{"id": "a", "values": ["b"]}]),
    ("url: 'http://x:8080/v1'", [{"id": "url", "values": ["http://x:8080/v1"]}]),
]


@pytest.mark.parametrize(("text", "expected"), STRUCTURES, ids=[repr(t)[:40] for t, _ in STRUCTURES])
def test_structure(text: str, expected: Any) -> None:
    assert [compact(link) for link in parse(text)] == expected


CONFIG = """\
# The router's providers.
providers:
  openai:
    kind: openai-compatible
    base_url: 'https://api.openai.com/v1'
    models: gpt-4o gpt-4o-mini
  local:
    kind: openai-compatible   # a comment after a value
    base_url: 'http://127.0.0.1:8000/v1'
"""


def test_config_shaped_document_keeps_every_key_under_its_block() -> None:
    [providers] = parse(CONFIG)
    assert providers.id == "providers"
    openai, local = providers.values
    assert openai == Link(
        "openai",
        (
            Link("kind", (Link("openai-compatible"),)),
            Link("base_url", (Link("https://api.openai.com/v1"),)),
            Link("models", (Link("gpt-4o"), Link("gpt-4o-mini"))),
        ),
    )
    assert local.values[1] == Link("base_url", (Link("http://127.0.0.1:8000/v1"),))


def test_positions_point_at_what_the_user_wrote() -> None:
    [providers] = parse(CONFIG)
    assert (providers.line, providers.column) == (2, 1)
    openai, local = providers.values
    assert (openai.line, openai.column) == (3, 3)
    base_url = local.values[1]
    assert (base_url.line, base_url.column) == (9, 5)
    assert (base_url.values[0].line, base_url.values[0].column) == (9, 15)


def test_positions_after_a_multiline_quoted_reference() -> None:
    links = parse('a: "one\ntwo"\nb: c')
    assert (links[1].line, links[1].column) == (3, 1)
    assert (links[1].values[0].line, links[1].values[0].column) == (3, 4)


def test_positions_do_not_take_part_in_equality() -> None:
    assert parse("a: b") == parse("\n\n   a:    b")
    assert Link("x", (), 1, 1) == Link("x", (), 9, 9)


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_crlf_and_lone_cr_end_lines_like_lf(ending: str) -> None:
    text = CONFIG.replace("\n", ending)
    assert parse(text) == parse(CONFIG)
    [providers] = parse(text)
    assert (providers.values[1].values[1].line, providers.values[1].values[1].column) == (9, 5)


def test_a_comment_line_does_not_end_an_indented_block() -> None:
    assert parse("a:\n  b\n# note\n  c") == parse("a:\n  b\n  c")


def test_comments_can_be_turned_off() -> None:
    assert [compact(link) for link in parse("# a b", comments=False)] == [["#", "a", "b"]]
    assert parse("# a b") == []


def test_any_indentation_width_gives_the_same_links() -> None:
    two = "a:\n  b:\n    c d\n  e"
    four = "a:\n    b:\n        c d\n    e"
    assert parse(two) == parse(four)


def test_a_leading_byte_order_mark_is_ignored() -> None:
    assert parse("\ufeffproviders:\n  a") == parse("providers:\n  a")


def test_links_are_hashable_and_immutable() -> None:
    [link] = parse("a: b c")
    assert {link: 1}[Link("a", (Link("b"), Link("c")))] == 1
    with pytest.raises(AttributeError):
        link.id = "z"  # type: ignore[misc]
