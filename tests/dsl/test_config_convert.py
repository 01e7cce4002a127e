"""Scalar converters: any text gives a value or a ConversionError, never another exception."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.config import convert as c
from dsl.config.schema import LISTS, SECTIONS

CONVERTERS: list[Callable[[str], Any]] = sorted(
    {f.convert for _, spec in [*SECTIONS.values(), *LISTS.values()] for f in spec.fields if f.section is None}
    | {c.to_env_name, c.to_name, c.to_optional_port, c.to_csv},
    key=lambda f: getattr(f, "__name__", repr(f)),
)
_texts = st.one_of(
    st.text(max_size=40),
    st.tuples(st.integers(1, 6000), st.sampled_from(["", "ms", "s", "h", "d", "MiB"])).map(
        lambda pair: "9" * pair[0] + pair[1]
    ),
    st.sampled_from(["1e999", "nan", "inf", "-0", "http://[::1", "http://h:99999", "1_000", "٣"]),
)


@pytest.mark.parametrize("convert", CONVERTERS, ids=lambda f: getattr(f, "__qualname__", repr(f)))
@settings(max_examples=60, deadline=None)
@given(text=_texts)
def test_converters_return_or_raise_conversion_error(convert: Callable[[str], Any], text: str) -> None:
    try:
        convert(text)
    except c.ConversionError as err:
        assert err.expected


@pytest.mark.parametrize(
    ("text", "hours"), [("24", 24), ("24h", 24), ("2d", 48), ("90m", None), ("9" * 5000, None), ("1.5", None)]
)
def test_ttl_hours(text: str, hours: int | None) -> None:
    if hours is None:
        with pytest.raises(c.ConversionError):
            c.to_whole_unit(text, 3600, "hours")
    else:
        assert c.to_whole_unit(text, 3600, "hours") == hours
