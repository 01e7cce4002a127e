"""The DSL's error hierarchy. Every failure of parsing or validation ends in a `DslError`.

Pure; never imports the gateway or the controller.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file, located as precisely as we can."""

    message: str
    file: str = "<string>"
    line: int | None = None
    column: int | None = None
    expected: str | None = None
    hint: str | None = None

    def render(self) -> str:
        """`file:line:column: message (expected …) (hint)` — the form editors and CI logs link to."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.expected:
            text += f"; expected {self.expected}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class DslError(Exception):
    """Base of every DSL error; carries one or more problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class DslSyntaxError(DslError):
    """The text is not valid Links Notation."""


class DslValidationError(DslError):
    """The text parses, but does not describe a valid router configuration."""
