"""Reporting for the DSL tests: the Links Notation conformance summary line."""

from __future__ import annotations

import pytest

_CONFORMANCE = "test_lino_conformance.py::test_case["


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print `lino conformance: N/M passed` whenever conformance cases ran."""
    outcomes: dict[str, str] = {}
    for category in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(category, []):
            nodeid = getattr(report, "nodeid", "")
            if _CONFORMANCE not in nodeid:
                continue
            if category == "passed" and getattr(report, "when", "call") != "call":
                continue
            # Any non-pass in any phase makes the case count as not passed.
            if outcomes.get(nodeid) != "bad":
                outcomes[nodeid] = "ok" if category == "passed" else "bad"
    if outcomes:
        passed = sum(1 for outcome in outcomes.values() if outcome == "ok")
        terminalreporter.write_line(f"lino conformance: {passed}/{len(outcomes)} passed")
