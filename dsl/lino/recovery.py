"""Finding further syntax errors after the first, so that one run lists them all.

Lark's LALR parser stops at the first error. To go on, the text from the error's position to the
end of its line is replaced by spaces (positions elsewhere stay put, and a line that becomes blank
does not end an indented block) and the document is parsed again. An error found that way is kept
only if it lies after the previous one: an error at or before it is taken as a consequence of the
blanking (a group whose ')' was blanked), not as a mistake of the user's, and ends the search.
The search is bounded: at most `MAX_PROBLEMS` problems, and at most `REPARSE_BUDGET` characters
parsed again in all (a small config gets every problem listed; a 200 KB one a few; a document over
the budget its first error alone), so a bad document costs at most about two parses more.

Pure: text and a parse function in, problems out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from dsl.errors import DslSyntaxError

MAX_PROBLEMS = 10
REPARSE_BUDGET = 512 * 1024


@cache
def _line_break() -> re.Pattern[str]:
    return re.compile(r"\r\n?|\n")


def further_problems(first: DslSyntaxError, text: str, parse_once: Callable[[str], object]) -> DslSyntaxError:
    """`first` plus the errors found after it in `text`, as one error; `parse_once` raises on bad text."""
    problems = list(first.problems)
    budget = REPARSE_BUDGET
    while len(problems) < MAX_PROBLEMS and len(text) <= budget:
        budget -= len(text)
        last = problems[-1]
        if last.line is None or last.column is None or "nesting too deep" in last.message:
            break  # nothing to blank, or every deeper line would repeat the same error
        text = _blank_rest_of_line(text, last.line, last.column)
        try:
            parse_once(text)
        except DslSyntaxError as again:
            found = again.problems[0]
            if found.line is None or (found.line, found.column or 0) <= (last.line, last.column):
                break
            problems.append(found)
            continue
        break
    return first if len(problems) == 1 else DslSyntaxError(problems)


def _blank_rest_of_line(text: str, line: int, column: int) -> str:
    """`text` with spaces from (`line`, `column`), both 1-based, to the end of that line."""
    start = 0
    if line > 1:
        for count, match in enumerate(_line_break().finditer(text), start=2):
            if count == line:
                start = match.end()
                break
        else:
            return text
    begin = min(start + column - 1, len(text))
    found = _line_break().search(text, begin)
    end = found.start() if found else len(text)
    return text[:begin] + " " * (end - begin) + text[end:]
