"""The hand-written pieces on their own: n-quote scanning and comment blanking."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.lino.comments import blank_comments
from dsl.lino.quotes import scan_delimited

SCANS: list[tuple[str, tuple[str, int] | None]] = [
    ('"a" rest', ("a", 3)),
    ("'a' rest", ("a", 3)),
    ("`a` rest", ("a", 3)),
    ('"a "" b"', ('a " b', 8)),
    ('""x""', ("x", 5)),
    ('""text with " inside""', ('text with " inside', 22)),
    ("'''x'''", ("x", 7)),
    ('""""""hello""""""', ("hello", 17)),
    ("'''a '''''' b'''", ("a ''' b", 16)),
    ('"multi\nline"', ("multi\nline", 12)),
    ('"a\'b"', ("a'b", 5)),
    ('""', ("", 2)),
    ('"" ""', ("", 2)),  # a bare pair, not a quote around ' '
    ('""""', ("", 4)),
    ('"" " ""', (' " ', 7)),
    ('""(a""', ("", 2)),  # an unbalanced body is not substantive
    ('"abc', None),
    ("'", None),
    ("x", None),
]


@pytest.mark.parametrize(("text", "expected"), SCANS, ids=[repr(t) for t, _ in SCANS])
def test_scan_delimited(text: str, expected: tuple[str, int] | None) -> None:
    assert scan_delimited(text, 0) == expected


def test_scan_starts_where_it_is_told() -> None:
    assert scan_delimited('ab "c d" e', 3) == ("c d", 8)


BLANKING = [
    ("a: b # why\n", "a: b      \n"),
    ("# whole line\nx", "            \nx"),
    ("issue#1047\n", "issue#1047\n"),
    ('"# kept" # dropped', '"# kept"          '),
    ("'a # b\nc' # d", "'a # b\nc'    "),
    ("a\t# tab before\r\nb", "a\t            \r\nb"),
    ("(#x)", "(#x)"),
    ("#", " "),
    ('x "unterminated # comment', 'x "unterminated          '),
]


@pytest.mark.parametrize(("text", "blanked"), BLANKING, ids=[repr(t) for t, _ in BLANKING])
def test_blank_comments(text: str, blanked: str) -> None:
    assert blank_comments(text) == blanked


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="ab #\"'`\n\r\t():", max_size=40))
def test_blanking_keeps_every_position_and_line_break(text: str) -> None:
    blanked = blank_comments(text)
    assert len(blanked) == len(text)
    for original, kept in zip(text, blanked, strict=True):
        assert kept == original or kept == " "
        if original in "\r\n":
            assert kept == original
