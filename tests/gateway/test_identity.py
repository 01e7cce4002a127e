"""The Claude Code identity system block: table of shapes, and properties over arbitrary payloads."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.exchange.identity import IDENTITY, inject_identity, with_identity_system

ID_BLOCK = {"type": "text", "text": IDENTITY}


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        (None, [ID_BLOCK]),
        ("", [ID_BLOCK]),
        ("Be terse.", [ID_BLOCK, {"type": "text", "text": "Be terse."}]),
        ([{"type": "text", "text": "A"}], [ID_BLOCK, {"type": "text", "text": "A"}]),
        (
            [{"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}],
            [ID_BLOCK, {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}],
        ),
    ],
)
def test_identity_is_prepended(system: Any, expected: list[dict[str, Any]]) -> None:
    payload: dict[str, Any] = {"model": "m", "messages": []}
    if system is not None:
        payload["system"] = system
    out = with_identity_system(payload)
    assert out is not None
    assert out["system"] == expected
    assert out["model"] == "m"


@pytest.mark.parametrize(
    "system",
    [
        IDENTITY,
        IDENTITY + " Extra.",
        [{"type": "text", "text": IDENTITY}],
        # Claude Code: billing header first, identity second.
        [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
            {"type": "text", "text": IDENTITY},
        ],
    ],
)
def test_requests_that_carry_identity_are_forwarded_byte_for_byte(system: Any) -> None:
    body = json.dumps({"model": "m", "system": system, "messages": []}).encode()
    assert inject_identity(body) is None


DEEP = b'{"model":"m","messages":' + b"[" * 200_000 + b"]" * 200_000 + b"}"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1,2]", b'"x"', b'{"system": 5}', b"\xff\xfe", DEEP],
    ids=["empty", "not-json", "array", "string", "bad-system", "not-utf8", "nested-too-deep"],
)
def test_bodies_we_cannot_fix_are_left_alone(body: bytes) -> None:
    assert inject_identity(body) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
system_values = (
    st.none()
    | st.text(max_size=30)
    | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=30)}), max_size=3)
)


@given(extra=st.dictionaries(st.text(max_size=8), json_values, max_size=4), system=system_values)
def test_injection_is_idempotent_and_never_mutates_its_input(extra: dict[str, Any], system: Any) -> None:
    payload = {**extra, "model": "m", "messages": []}
    if system is not None:
        payload["system"] = system
    before = copy.deepcopy(payload)
    once = with_identity_system(payload)
    assert payload == before
    result = once if once is not None else payload
    assert with_identity_system(result) is None
    first = result["system"]
    first_text = (
        first if isinstance(first, str) else next(b["text"] for b in first if b["text"].startswith(IDENTITY))
    )
    assert first_text.startswith(IDENTITY)
    for key, value in payload.items():
        if key != "system":
            assert result[key] == value
