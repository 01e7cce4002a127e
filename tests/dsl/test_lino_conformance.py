"""The Links Notation conformance corpus: every `current` case, compared as its README says.

Cases come from upstream's test suites (see data/lino-conformance/README.md). Each case is its own
test; `tests/dsl/conftest.py` prints the `lino conformance: N/M passed` line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dsl.errors import DslSyntaxError
from dsl.lino import FormatOptions, Link, format_link, format_links, parse
from tests.support.lino import compact, render

CASES_FILE = Path(__file__).parent / "data" / "lino-conformance" / "cases.jsonl"


def _load_current() -> list[dict[str, Any]]:
    with CASES_FILE.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [row for row in rows if row["status"] == "current"]


CURRENT = _load_current()


def format_options(options: Any) -> FormatOptions:
    """The corpus's formatter options, in ours; `formatted` rows hold upstream's exact spelling."""
    if options == "default":
        return FormatOptions(upstream_references=True)
    if options == "lessParentheses":
        return FormatOptions(less_parentheses=True, upstream_references=True)
    assert options["class"] == "FormatOptions", options
    inline_limit = None if options["preferInline"] else options["maxInlineRefs"]
    return FormatOptions(
        less_parentheses=options["lessParentheses"],
        max_inline_refs=inline_limit,
        indent=options["indentString"],
        upstream_references=True,
    )


def parse_case(row: dict[str, Any], text: str) -> list[Link]:
    comments = "comments disabled" not in (row["notes"] or "")
    return parse(text, comments=comments)


def test_corpus_is_the_expected_one() -> None:
    assert len(CURRENT) == 477
    assert {row["expected_kind"] for row in CURRENT} == {
        "structure",
        "formatted",
        "rendered",
        "equivalent",
        "error",
    }


@pytest.mark.parametrize("row", CURRENT, ids=[row["id"] for row in CURRENT])
def test_case(row: dict[str, Any]) -> None:
    kind, expected, text = row["expected_kind"], row["expected"], row["input"]
    if kind == "error":
        with pytest.raises(DslSyntaxError):
            parse_case(row, text)
        return
    links = parse_case(row, text)
    if kind == "structure":
        assert [compact(link) for link in links] == expected
    elif kind == "rendered":
        assert "\n".join(render(link) for link in links) == expected
    elif kind == "equivalent":
        assert links == parse_case(row, expected)
    else:
        assert kind == "formatted"
        fmt = row["format"]
        options = format_options(fmt["options"])
        if fmt["target"] == "document":
            assert format_links(links, options) == expected
        else:
            index = int(fmt["target"].removeprefix("link[").removesuffix("]"))
            assert format_link(links[index], options) == expected
