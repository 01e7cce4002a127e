"""The seed's snapshot formats: golden seed-written files load, and we write them byte-exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.tokens import formats
from gateway.tokens.records import TokenRecord

FIXTURES = Path(__file__).parent / "fixtures"

SEED_TEXT_RECORDS = [
    TokenRecord(
        id="0b7a1d2e-5c1f-4c3e-9a55-1f0e7d3c2b10", label="alice", issued_at=1781000000, expires_at=1781604800
    ),
    TokenRecord(
        id="3f1c9e84-2d6b-4a8e-b0f7-6c5d4e3a2b19",
        label='ci "nightly" \\ job\nline two\ttab',
        issued_at=1781000100,
        expires_at=1781086500,
        revoked=True,
        account="primary",
        used_requests=7,
    ),
    TokenRecord(
        id="9d2e4f60-7a8b-4c1d-8e9f-0a1b2c3d4e5f",
        label="Zoë — 東京 🚀",
        issued_at=1781000200,
        expires_at=1781086600,
        max_requests=2,
        used_requests=2,
    ),
]

SEED_BIN_RECORDS = [
    TokenRecord(
        id="1a2b3c4d-0000-4000-8000-000000000001", label="bob", issued_at=1781000300, expires_at=1781086700
    ),
    TokenRecord(
        id="1a2b3c4d-0000-4000-8000-000000000002",
        label='quote " slash \\ nl\n Ünïcödé ✓',
        issued_at=1781000400,
        expires_at=1781086800,
        revoked=True,
        account="account-1",
        max_requests=10,
        used_requests=4,
    ),
]


def test_seed_written_text_store_loads_with_every_field() -> None:
    text = (FIXTURES / "seed_tokens.lino").read_text(encoding="utf-8")
    assert formats.decode_text(text) == SEED_TEXT_RECORDS


def test_text_store_is_written_byte_for_byte_like_the_seed() -> None:
    golden = (FIXTURES / "seed_tokens.lino").read_text(encoding="utf-8")
    assert formats.encode_text(reversed(SEED_TEXT_RECORDS)) == golden  # sorted by id, seed header


def test_seed_written_binary_store_loads() -> None:
    assert formats.decode_binary((FIXTURES / "seed_tokens.bin").read_bytes()) == SEED_BIN_RECORDS


def test_binary_store_is_written_byte_for_byte_like_the_seed() -> None:
    assert formats.encode_binary(SEED_BIN_RECORDS) == (FIXTURES / "seed_tokens.bin").read_bytes()


def test_pre_budget_seed_lines_and_reordered_groups_load() -> None:
    # v0.7.0 wrote no budget fields; the seed's parser accepts groups in any order and 1/yes as true.
    text = (
        '(token a (revoked yes) (expires_at 2) (label "x") (issued_at 1))\n'
        '  (token b (label "") (issued_at 3) (expires_at 4) (revoked 1) (account "acc"))\n'
    )
    assert formats.decode_text(text) == [
        TokenRecord(id="a", label="x", issued_at=1, expires_at=2, revoked=True),
        TokenRecord(id="b", label="", issued_at=3, expires_at=4, revoked=True, account="acc"),
    ]


def test_unknown_field_groups_are_skipped_not_fatal() -> None:
    # The seed fails the whole load on an unknown field; later versions add fields (scope, ...).
    line = '(token a (label "x") (issued_at 1) (expires_at 2) (revoked false) (scope "admin"))'
    assert formats.decode_text(line) == [TokenRecord(id="a", label="x", issued_at=1, expires_at=2)]


def test_our_budget_fields_are_written_only_when_set() -> None:
    plain = TokenRecord(id="a", label="x", issued_at=1, expires_at=2)
    rich = TokenRecord(
        id="b", max_tokens=1000, used_input_tokens=5, used_output_tokens=6, rate_limit_per_minute=30
    )
    text = formats.encode_text([plain, rich])
    assert '(token a (label "x") (issued_at 1) (expires_at 2) (revoked false) (used_requests 0))' in text
    assert "(max_tokens 1000) (rate_limit_per_minute 30) (used_input_tokens 5) (used_output_tokens 6)" in text
    assert formats.decode_text(text) == [plain, rich]
    assert formats.decode_binary(formats.encode_binary([plain, rich])) == [plain, rich]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('(token a (label "x") (issued_at nope))', "line 1: field issued_at: expected an integer"),
        ("(token a (label unquoted))", "line 1: field label: expected a quoted string"),
        ('# header\n(token a (label "unterminated)', "line 2: unterminated string"),
        ('(token a (label "x")', "line 1: unclosed '('"),
        ("token a", "line 1: expected '('"),
        ('(account a (label "x"))', "line 1: expected (token <id>"),
        ("(token a) trailing", "line 1: unexpected text after the record"),
    ],
)
def test_corrupt_text_lines_are_reported_with_their_line_number(text: str, fragment: str) -> None:
    with pytest.raises(formats.FormatError, match=None) as info:
        formats.decode_text(text)
    assert fragment in str(info.value)


def test_binary_edge_cases() -> None:
    # Shorter than the magic (empty included) is a truncated file, not an empty store.
    for short in (b"", b"L", b"LART", b"LARTOK0"):
        with pytest.raises(formats.FormatError, match=f"tokens.bin: {len(short)} bytes, shorter than"):
            formats.decode_binary(short)
    assert formats.decode_binary(b"LARTOK01") == []
    with pytest.raises(formats.FormatError, match="invalid magic"):
        formats.decode_binary(b"NOTATOKENFILE")
    whole = formats.encode_binary(SEED_BIN_RECORDS)
    with pytest.raises(formats.FormatError, match="truncated record"):
        formats.decode_binary(whole[:-3])
    with pytest.raises(formats.FormatError, match="truncated length"):
        formats.decode_binary(whole[:10])


labels = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
records = st.builds(
    TokenRecord,
    id=st.uuids().map(str),
    label=labels,
    issued_at=st.integers(0, 2**40),
    expires_at=st.integers(0, 2**40),
    revoked=st.booleans(),
    account=st.none() | labels,
    max_requests=st.none() | st.integers(0, 2**40),
    used_requests=st.integers(0, 2**40),
    max_tokens=st.none() | st.integers(0, 2**40),
    used_input_tokens=st.integers(0, 2**40),
    used_output_tokens=st.integers(0, 2**40),
    rate_limit_per_minute=st.none() | st.integers(0, 10_000),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(records, max_size=5, unique_by=lambda r: r.id))
def test_any_records_round_trip_through_both_formats(items: list[TokenRecord]) -> None:
    expected = sorted(items, key=lambda r: r.id)
    assert formats.decode_text(formats.encode_text(items)) == expected
    assert formats.decode_binary(formats.encode_binary(items)) == expected


@settings(max_examples=200, deadline=None)
@given(records)
def test_the_fast_line_reader_agrees_with_the_general_one(record: TokenRecord) -> None:
    line = formats.encode_text([record]).split("\n")[-2]  # not splitlines: labels may hold \x1e
    assert formats.decode_text(line) == [formats.parse_groups(line)] == [record]
