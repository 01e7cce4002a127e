"""Effective settings: CLI flag > environment > `.lenv` > `.env` > config file > default.

`resolve` is pure: parsed flag values, an environ mapping, the `.lenv`/`.env` texts and the loaded
config file in; the effective RouterConfig and the source of every value out. `.lenv` and `.env`
never override the real environment (they sit below it). Secrets from the environment become
`SecretRef(env=NAME)`; from a flag or a dotfile a literal `SecretRef(value=…)`; never printed.

`add_global_flags` puts every seed flag on an argparse parser (and its subcommands, so flags work
after the subcommand, like the seed's global clap flags); `settings_from_args` does the I/O: reads
os.environ, ./.lenv, ./.env and the --config file, then calls `resolve`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl.config import checks, load_config_traced
from dsl.config import convert as c
from dsl.config.flags import CHOICE_TABLES, SETTINGS, Kind, Setting
from dsl.config.view import flatten, set_path
from dsl.errors import DslValidationError, Problem
from dsl.lenv import parse_dotenv, parse_lenv
from dsl.model import RouterConfig, SecretRef

LAYER_FILES: Mapping[str, str] = {
    "flag": "command line",
    "env": "environment",
    ".lenv": ".lenv",
    ".env": ".env",
}


@dataclass(frozen=True)
class ResolvedSettings:
    config: RouterConfig
    sources: dict[str, str] = field(default_factory=dict)
    """Model path (`server.port`) -> `flag --port`, `env ROUTER_PORT`, `.lenv ROUTER_PORT`,
    `.env ROUTER_PORT`, `config router.lino:3:3` or `default`."""
    config_path: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The environment as the seed's processes see it: real variables, then ./.lenv, then ./.env
    (dotfiles never override). Resolve `SecretRef(env=…)` against this, not os.environ, so a key
    named in the config (`api-key-env LITELLM_MASTER_KEY`) may live in ./.lenv as with the seed."""


def resolve(
    argv_values: Mapping[str, object],
    environ: Mapping[str, str],
    lenv_text: str = "",
    dotenv_text: str = "",
    config: RouterConfig | None = None,
    config_origins: Mapping[str, tuple[int | None, int | None]] | None = None,
    config_path: str | None = None,
) -> ResolvedSettings:
    """Apply the layers over the config file's values; raises DslValidationError listing every bad one."""
    lenv, dotenv = parse_lenv(lenv_text), parse_dotenv(dotenv_text)
    layers: list[tuple[str, Mapping[str, object]]] = [
        ("flag", argv_values),
        ("env", environ),
        (".lenv", lenv),
        (".env", dotenv),
    ]
    effective = config or RouterConfig()
    overrides: dict[str, str] = {}
    problems: list[Problem] = []
    for setting in SETTINGS:
        if setting.kind is Kind.CONFIG:
            continue
        found = _first_layer(setting, layers)
        if found is None:
            continue
        layer, raw = found
        try:
            value = convert_setting(setting, layer, raw)
        except c.ConversionError as err:
            problems.append(_layer_problem(setting, layer, raw, err))
            continue
        effective = set_path(effective, setting.path, value)
        overrides[setting.path] = f"{layer} {setting.flag if layer == 'flag' else setting.env}"
    sources = _sources(effective, overrides, config_origins or {}, config_path)
    for path, message, expected in checks.cross_check(effective):
        problems.append(_located(path, message, expected, sources, config_origins or {}, config_path))
    if problems:
        raise DslValidationError(problems)
    return ResolvedSettings(effective, sources, config_path, {**dotenv, **lenv, **environ})


def _first_layer(
    setting: Setting, layers: list[tuple[str, Mapping[str, object]]]
) -> tuple[str, object] | None:
    for layer, values in layers:
        key = setting.dest if layer == "flag" else setting.env
        raw = values.get(key)
        if raw is None or raw == "":
            continue  # an empty value counts as unset, as in the seed (e.g. TOKEN_ADMIN_KEY="")
        return layer, raw
    return None


def convert_setting(setting: Setting, layer: str, raw: object) -> Any:
    """One layer's raw value (flag value or variable text) as the model value."""
    text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
    kind = setting.kind
    if kind is Kind.SECRET:
        if not text:
            raise c.ConversionError("a non-empty value")
        return SecretRef(env=setting.env) if layer == "env" else SecretRef(value=text)
    if kind is Kind.SECRET_ENV_NAME:
        return SecretRef(env=c.to_env_name(text))
    if kind is Kind.BOOL:
        return c.to_bool(text)
    if kind is Kind.DISABLE:
        return not c.to_bool(text)
    if kind is Kind.PORT:
        return c.to_port(text)
    if kind is Kind.OPTIONAL_PORT:
        return c.to_optional_port(text)
    if kind is Kind.INT:
        return c.to_int(text, minimum=0)
    if kind is Kind.DURATION:
        return c.to_seconds(text)
    if kind is Kind.CSV:
        return c.to_csv(text)
    if kind is Kind.URL:
        return c.to_url(text)
    if kind is Kind.CHOICE:
        return c.to_choice(text, CHOICE_TABLES[setting.choices])
    return c.to_text(text)


def _layer_problem(setting: Setting, layer: str, raw: object, err: c.ConversionError) -> Problem:
    name = setting.flag if layer == "flag" else setting.env
    secret = setting.kind is Kind.SECRET or not err.echo
    shown = "" if secret else f" {str(raw)[:60]!r}"
    return Problem(f"invalid value{shown} for {name}", LAYER_FILES[layer], expected=err.expected)


def _sources(
    config: RouterConfig,
    overrides: Mapping[str, str],
    origins: Mapping[str, tuple[int | None, int | None]],
    config_path: str | None,
) -> dict[str, str]:
    sources: dict[str, str] = {}
    for path, _ in flatten(config):
        sources[path] = _source_of(path, overrides, origins, config_path)
    return sources


def _source_of(
    path: str,
    overrides: Mapping[str, str],
    origins: Mapping[str, tuple[int | None, int | None]],
    config_path: str | None,
) -> str:
    if path in overrides:
        return overrides[path]
    probe = path
    while "." in probe:  # a record (accounts.main) covers its fields; a block (server) does not
        if probe in origins:
            line, column = origins[probe]
            where = config_path or "config"
            return f"config {where}:{line}:{column}" if line else f"config {where}"
        probe = probe.rpartition(".")[0]
    return "default"


def _located(
    path: str,
    message: str,
    expected: str | None,
    sources: Mapping[str, str],
    origins: Mapping[str, tuple[int | None, int | None]],
    config_path: str | None,
) -> Problem:
    source = sources.get(path, "default")
    if source.startswith("config") and path in origins:
        line, column = origins[path]
        return Problem(message, config_path or "<config>", line, column, expected=expected)
    layer, _, name = source.partition(" ")
    where = LAYER_FILES.get(layer, "settings")
    return Problem(f"{message} (set by {name})" if name else message, where, expected=expected)


def config_path_from(
    argv_values: Mapping[str, object], environ: Mapping[str, str], lenv_text: str = "", dotenv_text: str = ""
) -> str | None:
    """Which DSL file to load: --config > ROUTER_CONFIG > .lenv > .env; None for no file."""
    for values in (
        {"ROUTER_CONFIG": argv_values.get("config")},
        environ,
        parse_lenv(lenv_text),
        parse_dotenv(dotenv_text),
    ):
        value = values.get("ROUTER_CONFIG")
        if isinstance(value, str) and value:
            return value
    return None


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
