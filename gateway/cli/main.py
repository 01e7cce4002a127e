"""Entry point of `link-assistant-router`: global flags, subcommand dispatch.

Each subcommand module in COMMAND_MODULES exposes `register(subparsers) -> None`, which adds its
parser(s) and sets `handler=<callable(args) -> int>` as a default. Handlers get their effective
configuration with `gateway.cli.settings.settings_from_args(args)`. Every seed flag is global: accepted
before or after the subcommand. With no subcommand the router serves, like the seed.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dsl.config.flags import SETTINGS
from dsl.errors import DslError
from gateway.cli.settings import add_global_flags

# Each owner adds one line here for its subcommand module.
COMMAND_MODULES: tuple[str, ...] = (
    "gateway.cli.config_cmd",
    "gateway.cli.tokens_cmd",
    "gateway.cli.providers_cmd",
    "gateway.cli.serve_cmd",
    "gateway.cli.doctor_cmd",
    "gateway.cli.controller_cmd",
    "gateway.cli.accounts_cmd",
    "gateway.cli.admin_cmd",
)
DEFAULT_COMMAND = "serve"


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The argument parser with the subcommands of `modules` (all of them by default)."""
    parser = argparse.ArgumentParser(
        prog="link-assistant-router",
        description="LLM API gateway: Anthropic- and OpenAI-compatible proxy with per-user la_sk_ keys. "
        "Settings come from flags, then environment variables, then ./.lenv, then ./.env, then the "
        "--config file, then defaults.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register(sub)
    add_global_flags(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_modules_for(args_list))
    args = parser.parse_args(args_list)
    handler = getattr(args, "handler", None)
    if handler is None and getattr(args, "command", None) is None and _has_command(parser, DEFAULT_COMMAND):
        args = parser.parse_args([DEFAULT_COMMAND, *args_list])
        handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except DslError as err:
        # Bad settings reached a handler that did not catch them: report, as the seed does, exit 2.
        for problem in err.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        return 2


def _modules_for(args_list: list[str]) -> tuple[str, ...]:
    """Only the module of the named subcommand (`config` -> gateway.cli.config_cmd), so that, say,
    `config validate` does not import the whole server; every module for help or anything unclear."""
    valued = {s.flag for s in SETTINGS if not s.is_switch}
    index = 0
    while index < len(args_list):
        token = args_list[index]
        if token in ("-h", "--help") or token == "--":
            return COMMAND_MODULES
        if token.startswith("-"):
            index += 2 if token in valued else 1
            continue
        module = f"gateway.cli.{token.replace('-', '_')}_cmd"
        return (module,) if module in COMMAND_MODULES else COMMAND_MODULES
    return COMMAND_MODULES


def _has_command(parser: argparse.ArgumentParser, name: str) -> bool:
    for action in parser._actions:  # argparse exposes subcommands only through this
        if isinstance(action, argparse._SubParsersAction):
            return name in action.choices
    return False


if __name__ == "__main__":
    sys.exit(main())
