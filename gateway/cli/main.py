"""Entry point of `link-assistant-router`: global flags, subcommand dispatch.

Each subcommand module in COMMAND_MODULES exposes `register(subparsers) -> None`, which adds its
parser(s) and sets `handler=<callable(args) -> int>` as a default.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Each owner adds one line here for its subcommand module.
COMMAND_MODULES: tuple[str, ...] = ()


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="link-assistant-router",
        description="LLM API gateway: Anthropic- and OpenAI-compatible proxy with per-user la_sk_ keys.",
    )
    sub = parser.add_subparsers(dest="command")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
