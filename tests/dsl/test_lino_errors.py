"""Bad input: every failure is a located `DslSyntaxError` with a friendly message, in bounded time.

Times are CPU seconds of this process, so that other work on a shared machine does not count.
"""

from __future__ import annotations

import random
import time

import pytest

from dsl.errors import DslSyntaxError, Problem
from dsl.lino import DEFAULT_MAX_CHARS, format_links, parse

# (input, line, column, words the message or expectation must hold)
BAD: list[tuple[str, int, int, tuple[str, ...]]] = [
    (":", 1, 1, ("unexpected ':'",)),
    ('key: "no closing quote', 1, 6, ("unterminated quote", 'a closing "')),
    ("(name 'x)", 1, 7, ("unterminated quote",)),
    (": a b", 1, 1, ("unexpected ':'", "a reference")),
    ("(:)", 1, 2, ("unexpected ':'",)),
    ("(invalid", 1, 1, ("'(' is never closed", "')'")),
    ("a: (b\n  c", 1, 4, ("'(' is never closed",)),
    ("a)", 1, 2, ("unmatched ')'",)),
    ("a: b: c", 1, 5, ("unexpected ':' after 'b'", "the end of the line")),
    ("url: http://example.com", 1, 10, ("unexpected ':' after 'http'", "quote references that contain ':'")),
    ("a b: c", 1, 4, ("unexpected ':' after 'b'", "e.g. 'http://x'")),
    ("base-url http://h:1/v1 # c", 1, 14, ("unexpected ':' after 'http'", "e.g. 'http://h:1/v1')")),
    ("start 12:30", 1, 9, ("e.g. '12:30')",)),
    (":\n  papa\n  loves", 1, 1, ("unexpected ':'",)),
    ("a\n    b\n  c", 3, 3, ("indentation matches no enclosing block", "0 or 4 spaces")),
    ("a:\n  b\n c", 3, 2, ("indentation matches no enclosing block", "0 or 2 spaces")),
    ("a:\n\tb", 2, 1, ("tab in indentation", "indent with spaces")),
    ("a:\n  b\n  \tc", 3, 3, ("tab in indentation",)),
    ("x\x00y", 1, 2, ("control character (U+0000)",)),
    ("ok\nx\x1b[31m", 2, 2, ("control character (U+001B)",)),
    ("x\ud800", 1, 2, ("unpaired surrogate (U+D800)",)),
    ("~2{00}", 1, 1, ("invalid reference literal",)),
    ("a ~1{zz}", 1, 3, ("invalid reference literal",)),
    ("~1{ff}", 1, 1, ("invalid reference literal",)),
    ("# comment\n  a: b: c # more", 2, 7, ("unexpected ':' after 'b'",)),
    ("a: 'x\ny' : c", 2, 4, ("unexpected ':'",)),
    ("a\r\n    b\r\n  c", 3, 3, ("indentation matches no enclosing block",)),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), BAD, ids=[repr(b[0])[:40] for b in BAD])
def test_bad_input_is_a_located_syntax_error(
    text: str, line: int, column: int, words: tuple[str, ...]
) -> None:
    with pytest.raises(DslSyntaxError) as caught:
        parse(text, source="router.lino")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.column) == ("router.lino", line, column)
    rendered = str(caught.value)
    assert rendered.startswith(f"router.lino:{line}:{column}: ")
    for word in words:
        assert word in rendered
    assert "Traceback" not in rendered and "Token(" not in rendered


def test_non_text_is_refused_with_a_syntax_error() -> None:
    with pytest.raises(DslSyntaxError, match="expected text, got bytes"):
        parse(b"a: b")  # type: ignore[arg-type]


def _fails_quickly(text: str, seconds: float, **options: int) -> Problem:
    started = time.process_time()
    with pytest.raises(DslSyntaxError) as caught:
        parse(text, **options)  # type: ignore[arg-type]
    assert time.process_time() - started < seconds
    return caught.value.problems[0]


def test_binary_junk_is_a_syntax_error() -> None:
    junk = random.Random(7).randbytes(200_000).decode("latin-1")
    problem = _fails_quickly(junk, 2.0)
    assert problem.line is not None and problem.column is not None


@pytest.mark.parametrize("megabytes", [10, 2])
def test_a_document_over_the_size_limit_is_refused_at_once(megabytes: int) -> None:
    problem = _fails_quickly("a b c\n" * (megabytes * 1024 * 1024 // 6 + 1), 1.0)
    assert "larger than the 1024 KiB limit" in problem.message
    assert (problem.line, problem.column) == (DEFAULT_MAX_CHARS // 6 + 1, DEFAULT_MAX_CHARS % 6 + 1)


def test_a_document_at_the_size_limit_parses_in_bounded_time() -> None:
    # The densest ordinary text there is: three one-letter references per line.
    text = "a b c\n" * (DEFAULT_MAX_CHARS // 6)
    started = time.process_time()
    links = parse(text)
    assert time.process_time() - started < 10.0
    assert len(links) == DEFAULT_MAX_CHARS // 6


def test_a_megabyte_of_junk_after_valid_text_fails_quickly() -> None:
    text = "a: b\n" * 1000 + "x: y: z\n" + "q " * 400_000
    problem = _fails_quickly(text, 2.0)
    assert (problem.line, problem.column) == (1001, 5)


@pytest.mark.parametrize("depth", [65, 10_000])
def test_deep_parentheses_hit_the_nesting_limit(depth: int) -> None:
    problem = _fails_quickly("(" * depth + "a" + ")" * depth, 1.0)
    assert "nesting too deep" in problem.message
    assert (problem.line, problem.column) == (1, 65)


def test_nesting_up_to_the_limit_parses() -> None:
    [link] = parse("(" * 64 + "a" + ")" * 64)
    for _ in range(63):
        [link] = link.values
    assert link.values[0].id == "a"


def test_deep_indentation_hits_the_nesting_limit() -> None:
    text = "\n".join(" " * level + f"k{level}:" for level in range(1_000))
    problem = _fails_quickly(text, 1.0)
    assert "nesting too deep" in problem.message
    assert problem.line == 66


def test_the_depth_ceiling_holds_whatever_the_caller_asks() -> None:
    problem = _fails_quickly("(" * 10_000 + ")" * 10_000, 1.0, max_depth=1_000_000)
    assert "more than 100 levels" in problem.message


@pytest.mark.parametrize("quote", ['"', "'", "`", '"""'])
def test_an_unterminated_quote_is_an_error_at_the_quote(quote: str) -> None:
    problem = _fails_quickly(f"a: ok\nb: {quote}unterminated value\nc: d", 1.0)
    assert (problem.line, problem.column) == (2, 4)
    assert problem.message == f"unterminated quote: nothing closes the {quote} opened here"
    assert problem.expected == f"a closing {quote}"


def test_quotes_inside_a_bare_word_are_ordinary_characters() -> None:
    [link] = parse('a"b c"')
    assert [v.id for v in link.values] == ['a"b', 'c"']


def test_many_unclosable_quote_runs_fail_fast() -> None:
    # Every opening run of a different length scans to the end of the document.
    problem = _fails_quickly(" ".join('"' * n + "x" for n in range(401, 0, -2)), 2.0)
    assert "unterminated quote" in problem.message


def test_lone_surrogates_and_nuls_deep_in_a_large_document_are_located() -> None:
    text = "a: b\n" * 5000 + "c: \ud83d\n"
    problem = _fails_quickly(text, 1.0)
    assert (problem.line, problem.column) == (5001, 4)


def test_links_at_the_depth_ceiling_compare_hash_and_format_without_recursion_errors() -> None:
    deep = "(" * 100 + "a" + ")" * 100
    links = parse(deep, max_depth=100)
    assert links == parse(deep, max_depth=100)
    assert hash(links[0]) == hash(parse(deep, max_depth=100)[0])
    assert parse(format_links(links), max_depth=100) == links
    indented = "\n".join(" " * level + "k" for level in range(100))
    paths = parse(indented, max_depth=100)
    assert parse(format_links(paths), max_depth=100) == paths


def test_errors_after_the_first_are_listed_too_in_file_order() -> None:
    text = "url: http://x\nok line\nb: c: d\n  fine\n(x\n"
    with pytest.raises(DslSyntaxError) as caught:
        parse(text, source="r.lino")
    assert [(p.line, p.column) for p in caught.value.problems] == [(1, 10), (3, 5), (5, 1)]
    rendered = str(caught.value).splitlines()
    assert rendered[0].startswith("r.lino:1:10: unexpected ':' after 'http'")
    assert rendered[1].startswith("r.lino:3:5: unexpected ':' after 'c'")
    assert rendered[2].startswith("r.lino:5:1: '(' is never closed")


@pytest.mark.parametrize("text", ["(a: b: c)", "a: 'x\ny' : c", "a: (b\n  c: d: e)", "k: v\n  a\n b\n"])
def test_a_consequence_of_the_first_error_is_not_reported_as_another(text: str) -> None:
    with pytest.raises(DslSyntaxError) as caught:
        parse(text)
    assert len(caught.value.problems) == 1, caught.value.problems


def test_the_error_list_is_bounded() -> None:
    text = "".join(f"k{i}: a: b\n" for i in range(50))
    with pytest.raises(DslSyntaxError) as caught:
        parse(text)
    assert [p.line for p in caught.value.problems] == list(range(1, 11))


def test_a_large_document_reports_its_first_error_alone_and_fast() -> None:
    text = "x: y: z\n" + "a: b\n" * 110_000 + "x: y: z\n"  # over the re-parse budget
    problem = _fails_quickly(text, 2.0)
    assert problem.line == 1


def test_errors_late_in_a_config_sized_document_cost_a_bounded_number_of_parses() -> None:
    text = "a: b\n" * 20_000 + "x: y: z\n" * 20  # ~100 KB: five parses more fit the re-parse budget
    started = time.process_time()
    with pytest.raises(DslSyntaxError) as caught:
        parse(text)
    assert [p.line for p in caught.value.problems] == list(range(20_001, 20_007))
    assert time.process_time() - started < 8.0  # six parses of ~0.3 s each, with a wide margin
