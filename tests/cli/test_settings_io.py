"""The command line's settings I/O: global flags on nested subcommands, dotfiles and the config file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dsl.config.flags import SETTINGS, Kind
from dsl.errors import DslValidationError
from dsl.model import RoutingMode, SecretRef
from gateway.cli.settings import add_global_flags, settings_from_args

CONFIG = "server:\n  port 7000\n  host 10.0.0.1\nrouting:\n  mode cli\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t")
    sub = parser.add_subparsers(dest="command")
    tokens = sub.add_parser("tokens").add_subparsers(dest="action")
    issue = tokens.add_parser("issue")
    issue.add_argument("--label", default="")
    add_global_flags(parser)
    return parser


def test_flags_are_accepted_before_and_after_nested_subcommands(tmp_path: Path) -> None:
    parser = _parser()
    args = parser.parse_args(
        ["--port", "9001", "tokens", "issue", "--label", "x", "--verbose", "--host", "h"]
    )
    settings = settings_from_args(args, environ={}, cwd=tmp_path)
    assert (settings.config.server.port, settings.config.server.host) == (9001, "h")
    assert settings.config.server.verbose is True
    absent = parser.parse_args(["tokens", "issue"])
    assert not hasattr(absent, "port")  # absent flags leave room for env/.lenv/.env/config


def test_settings_from_args_reads_dotfiles_and_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "router.lino").write_text(CONFIG, encoding="utf-8")
    (tmp_path / ".lenv").write_text("ROUTER_CONFIG: router.lino\nROUTER_HOST: 127.0.0.5\n", encoding="utf-8")
    (tmp_path / ".env").write_text("ROUTER_HOST=127.0.0.6\nDATA_DIR=/from/dotenv\n", encoding="utf-8")
    args = _parser().parse_args([])
    settings = settings_from_args(args, environ={"ROUTING_MODE": "direct"}, cwd=tmp_path)
    assert settings.config_path == "router.lino"
    assert settings.config.server.port == 7000
    assert settings.config.server.host == "127.0.0.5"
    assert settings.config.storage.data_dir == "/from/dotenv"
    assert settings.config.routing.mode is RoutingMode.DIRECT
    assert settings.sources["routing.mode"] == "env ROUTING_MODE"


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    args = _parser().parse_args(["--config", "nope.lino"])
    with pytest.raises(DslValidationError) as caught:
        settings_from_args(args, environ={}, cwd=tmp_path)
    assert (
        caught.value.problems[0].render() == "nope.lino: cannot read config file: No such file or directory"
    )


def test_switch_kinds_are_store_true_flags() -> None:
    parser = _parser()
    for setting in SETTINGS:
        if setting.kind in (Kind.BOOL, Kind.DISABLE):
            assert getattr(parser.parse_args([setting.flag]), setting.dest) is True


def test_file_rules_other_layers_satisfy_are_checked_on_the_effective_config(tmp_path: Path) -> None:
    (tmp_path / "g.lino").write_text("upstream:\n  provider gonka\n", encoding="utf-8")
    args = _parser().parse_args(["--config", "g.lino"])
    settings = settings_from_args(args, environ={"GONKA_PRIVATE_KEY": "k"}, cwd=tmp_path)
    assert settings.config.gonka.private_key == SecretRef(env="GONKA_PRIVATE_KEY")
    with pytest.raises(DslValidationError) as caught:
        settings_from_args(args, environ={}, cwd=tmp_path)
    assert caught.value.problems[0].render().startswith("g.lino:2:3: upstream provider gonka needs")
