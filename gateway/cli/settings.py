"""The command line's side of the settings: every seed flag on argparse, and the I/O around `resolve`.

`add_global_flags` puts every seed flag on an argparse parser (and its subcommands, so flags work
after the subcommand, like the seed's global clap flags); `settings_from_args` does the I/O: reads
os.environ, ./.lenv, ./.env and the --config file, then calls the pure `dsl.settings.resolve`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from dsl.config import load_config_traced
from dsl.config.flags import SETTINGS
from dsl.errors import DslValidationError, Problem
from dsl.settings import ResolvedSettings, config_path_from, resolve


def add_global_flags(parser: argparse.ArgumentParser) -> None:
    """Add every seed flag to `parser` and to all its (nested) subcommand parsers.

    Defaults are SUPPRESS, so a flag absent from the command line is absent from the namespace and
    the lower layers decide; a flag given before or after the subcommand lands in the namespace.
    Options a subcommand already defines itself are left alone.
    """
    seen: set[int] = set()
    pending = [parser]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _add_flags(current)
        for action in current._actions:  # argparse exposes subcommands only through this
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())


def _add_flags(parser: argparse.ArgumentParser) -> None:
    if parser.usage is None:
        parser.usage = _own_usage(parser)
    group = parser.add_argument_group("global options (each also read from its environment variable)")
    for setting in SETTINGS:
        if setting.flag in parser._option_string_actions:
            continue
        help_text = f"{setting.help} [env {setting.env}]"
        if setting.is_switch:
            group.add_argument(
                setting.flag,
                dest=setting.dest,
                action="store_true",
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            group.add_argument(
                setting.flag,
                dest=setting.dest,
                metavar=setting.env,
                default=argparse.SUPPRESS,
                help=help_text,
            )


def _own_usage(parser: argparse.ArgumentParser) -> str:
    """The usage line of `parser`'s own arguments, with the ~45 global flags folded into one word.

    Without this, every usage line (also the one above each argparse error) lists all global flags
    and the subcommand's own arguments get lost at the bottom.
    """
    formatter = parser._get_formatter()
    formatter.add_usage(None, parser._actions, parser._mutually_exclusive_groups, prefix="")
    own = formatter.format_help().strip()
    return (own + " [global options]").replace("%", "%%")


def settings_from_args(
    args: argparse.Namespace,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> ResolvedSettings:
    """The effective settings for a parsed command line: reads the environment, ./.lenv, ./.env and
    the config file. Raises DslError (syntax or validation) with every problem found."""
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else Path(cwd)
    argv_values = {s.dest: getattr(args, s.dest) for s in SETTINGS if getattr(args, s.dest, None) is not None}
    lenv_text = _read_optional(base / ".lenv")
    dotenv_text = _read_optional(base / ".env")
    path = config_path_from(argv_values, env, lenv_text, dotenv_text)
    loaded = None
    if path is not None:
        file = Path(path) if Path(path).is_absolute() else base / path
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "strerror", None) or "not readable as UTF-8 text"
            raise DslValidationError([Problem(f"cannot read config file: {reason}", path)]) from None
        loaded = load_config_traced(text, source=path, cross_checks=False)  # resolve() runs them
    return resolve(
        argv_values,
        env,
        lenv_text,
        dotenv_text,
        loaded.config if loaded else None,
        loaded.origins if loaded else None,
        path,
    )


def _read_optional(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
