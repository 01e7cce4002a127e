"""`config fmt` layout: canonical, round-trips through the parser, idempotent, keeps comments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.config.layout import extract_comments, format_config
from dsl.errors import DslError
from dsl.lino import parse

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.lino"))


def test_layout_of_a_typical_file() -> None:
    text = (
        "# Router\nserver: (port 8080) (host '127.0.0.1')\n"
        "accounts:\n    main:\n        oauth-home /x # home\n"
        'providers:\n  litellm\n    base-url "http://l:4000/v1"\n    models "a,b"\n'
    )
    assert format_config(text).text == (
        "# Router\nserver:\n  port 8080\n  host 127.0.0.1\n\naccounts:\n  main:\n    # home\n"
        "    oauth-home /x\n\nproviders:\n  litellm\n    base-url 'http://l:4000/v1'\n    models a,b\n"
    )


def test_values_that_need_quotes_keep_them() -> None:
    out = format_config("x:\n  k 'a b'\n  u 'http://h:1'\n  e ''\n  h '#tag'\n").text
    assert parse(out) == parse("x:\n  k 'a b'\n  u 'http://h:1'\n  e ''\n  h '#tag'\n")
    assert "'a b'" in out and "'http://h:1'" in out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_round_trip_and_keep_every_comment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    out = format_config(text, str(path))
    assert out.comments_kept
    assert parse(out.text) == parse(text)
    assert [c for _, c in extract_comments(out.text)] == [c for _, c in extract_comments(text)]
    assert format_config(out.text).text == out.text


def test_a_shape_the_block_layout_cannot_spell_falls_back_to_canonical_links() -> None:
    text = "r:\n  (x)\n"  # a one-value anonymous link inside a block
    out = format_config(text)
    assert parse(out.text) == parse(text)


def test_empty_file() -> None:
    assert format_config("").text == ""
    assert format_config("# just a note\n").text == "# just a note\n"


_word = st.sampled_from(
    ["port", "8080", "main", "oauth-home", "/x/y", "'a b'", '"q"', "litellm", "on", "5m", "'h:1'", "k.v", "α"]
)
_key = st.sampled_from(["server", "accounts", "providers", "k.v", "α", "'quoted key'"])
_comment = st.sampled_from(["", "", "", "  # note", "  # ключ"])


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            lines.append("# block comment")
        lines.append(f"{draw(_key)}:{draw(_comment)}")
        depth_words = draw(st.lists(st.tuples(st.integers(1, 3), st.lists(_word, min_size=1, max_size=3)),
                                    max_size=6))  # fmt: skip
        previous = 0
        for depth, words in depth_words:
            depth = min(depth, previous + 1)  # an indent may only open one level at a time
            previous = depth
            lines.append("  " * depth + " ".join(words) + draw(_comment))
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_fmt_round_trips_and_is_idempotent(text: str) -> None:
    out = format_config(text)
    assert parse(out.text) == parse(text)
    assert format_config(out.text).text == out.text
    if out.comments_kept:
        assert len(extract_comments(out.text)) == len(extract_comments(text))


_lino_chars = st.lists(st.sampled_from([*"ab:() \n\"'#`~1{}", "  ", "\n  "]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_lino_chars, st.text(max_size=60)))
def test_fmt_of_any_text_is_a_syntax_error_or_an_equivalent_document(text: str) -> None:
    try:
        before = parse(text)
    except DslError:
        with pytest.raises(DslError):
            format_config(text)
        return
    out = format_config(text)
    assert parse(out.text) == before
    assert format_config(out.text).text == out.text
