""".lenv (lino-env) and .env readers/writers: the exact rules a user's dotfiles are read with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsl.lenv import format_lenv, parse_dotenv, parse_lenv


def test_key_colon_space_value_and_value_kept_untrimmed() -> None:
    assert parse_lenv("TOKEN_SECRET: abc\nPAD:   spaced  \n") == {"TOKEN_SECRET": "abc", "PAD": "  spaced  "}


def test_only_the_first_colon_space_splits() -> None:
    assert parse_lenv("URL: http://h:1/a: b\n") == {"URL": "http://h:1/a: b"}


@pytest.mark.parametrize("line", ["KEY=value", "KEY:value", "just words", "=x"])
def test_lines_without_colon_space_are_ignored(line: str) -> None:
    assert parse_lenv(f"{line}\nOK: 1\n") == {"OK": "1"}


def test_whole_line_comments_and_blank_lines_are_skipped_but_inline_hash_is_data() -> None:
    text = "# header\n   # indented comment\n\nA: 1 # not a comment\n"
    assert parse_lenv(text) == {"A": "1 # not a comment"}


def test_duplicate_keys_last_wins() -> None:
    assert parse_lenv("A: 1\nB: 2\nA: 3\n") == {"A": "3", "B": "2"}


def test_multi_line_quoted_value() -> None:
    text = 'PEM: "-----BEGIN-----\nabc\n-----END-----"\nNEXT: 1\n'
    assert parse_lenv(text) == {"PEM": "-----BEGIN-----\nabc\n-----END-----", "NEXT": "1"}


def test_multi_line_single_quotes_and_text_after_the_closing_quote_dropped() -> None:
    assert parse_lenv("K: 'a\nb' trailing\n") == {"K": "a\nb"}


def test_quoted_value_closed_on_its_own_line_keeps_its_quotes() -> None:
    assert parse_lenv("K: \"x\"\nJ: 'y'\n") == {"K": '"x"', "J": "'y'"}


def test_unterminated_quote_keeps_the_raw_first_line() -> None:
    assert parse_lenv('K: "open\nJ: 1\n') == {"K": '"open', "J": "1"}


def test_crlf_files_read_like_lf() -> None:
    assert parse_lenv("A: 1\r\nB: 2\r\n") == {"A": "1", "B": "2"}


def test_writer_refuses_what_the_format_cannot_hold() -> None:
    with pytest.raises(ValueError):
        format_lenv({"A: B": "x"})
    with pytest.raises(ValueError):
        format_lenv({"K": "both ' and \"\nlines"})
    with pytest.raises(ValueError):
        format_lenv({"K": '"open'})


_keys = st.from_regex(r"[A-Z_][A-Z0-9_]{0,12}", fullmatch=True)
_values = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r"), max_size=30)


@given(st.dictionaries(_keys, _values, max_size=6))
def test_writer_output_reads_back_exactly(values: dict[str, str]) -> None:
    try:
        text = format_lenv(values)
    except ValueError:
        return  # a value the format cannot hold is refused, never written wrongly
    assert parse_lenv(text) == values


def test_dotenv_forms() -> None:
    text = (
        '# comment\nA=1\nexport B = two \nC=\'lit $x \\n\'\nD="esc\\nnl \\"q\\""\nE=val # note\n'
        'F="multi\nline"\nbroken line\n'
    )
    assert parse_dotenv(text) == {
        "A": "1",
        "B": "two",
        "C": "lit $x \\n",
        "D": 'esc\nnl "q"',
        "E": "val",
        "F": "multi\nline",
    }
