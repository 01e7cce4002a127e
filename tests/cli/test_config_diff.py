"""`config diff OLD NEW` as a user runs it, and the pure diff behind it (table): what a reload would
change, which changes need a restart, secrets shown only as references."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.config import load_config
from gateway.reload.diff import diff_configs
from tests.cli.test_config_cli import run

BASE = "server:\n  port 8080\naccounts:\n  a:\n    api-key-env KEY_A\n"


@pytest.mark.parametrize(
    ("new", "lines", "restart"),
    [
        (BASE, [], []),
        (BASE + "    priority 3\n", ["~ accounts.a.priority: 0 -> 3"], []),
        (BASE.replace("8080", "8081"), ["~ server.port: 8080 -> 8081   (needs a restart)"], ["server.port"]),
        (BASE.replace("KEY_A", "KEY_B"), ["~ accounts.a.api_key: env:KEY_A -> env:KEY_B"], []),
        (
            BASE + "features:\n  metrics off\n",
            ["~ features.metrics: on -> off   (needs a restart)"],
            ["features.metrics"],
        ),
        (BASE + "features:\n  hot-reload off\n", ["~ features.hot_reload: on -> off"], []),
        (
            BASE + "model-aliases:\n  fast claude-haiku-4-5\n",
            [
                "- model_aliases = -   (needs a restart)",
                "+ model_aliases.fast = claude-haiku-4-5   (needs a restart)",
            ],
            ["model_aliases", "model_aliases.fast"],
        ),
        (
            BASE + "storage:\n  policy memory\n",
            ["~ storage.policy: both -> memory   (needs a restart)"],
            ["storage.policy"],
        ),
    ],
    ids=["same", "priority", "port", "credential", "metrics-route", "hot-reload", "token-store", "alias"],
)
def test_diff_table(new: str, lines: list[str], restart: list[str]) -> None:
    diff = diff_configs(load_config(BASE, "old"), load_config(new, "new"))
    assert [c.render() + ("   (needs a restart)" if c.needs_restart else "") for c in diff.changes] == lines
    assert list(diff.restart_keys) == restart


def test_an_added_account_is_listed_key_by_key() -> None:
    diff = diff_configs(load_config(BASE, "old"), load_config(BASE + "  b:\n    api-key-env KEY_B\n", "new"))
    assert "+ accounts.b.api_key = env:KEY_B" in diff.render().splitlines()
    assert not diff.restart_keys


def test_config_diff_cli(tmp_path: Path) -> None:
    old, new, bad = tmp_path / "old.lino", tmp_path / "new.lino", tmp_path / "bad.lino"
    old.write_text(BASE)
    new.write_text(BASE.replace("8080", "8081") + "    priority 2\n")
    bad.write_text("server:\n  port abc\n")
    same = run("config", "diff", str(old), str(old), cwd=tmp_path)
    assert (same.returncode, same.stdout) == (0, "no changes\n")
    changed = run("config", "diff", str(old), str(new), cwd=tmp_path)
    assert changed.returncode == 1
    assert changed.stdout.splitlines() == [
        "~ server.port: 8080 -> 8081   (needs a restart)",
        "~ accounts.a.priority: 0 -> 2",
        "a reload would apply nothing: 1 change(s) need a restart",
    ]
    invalid = run("config", "diff", str(old), str(bad), cwd=tmp_path)
    assert invalid.returncode == 1 and "bad.lino:2:3:" in invalid.stderr and "Traceback" not in invalid.stderr
