"""Effective settings: CLI flag > environment > `.lenv` > `.env` > config file > default.

`resolve` is pure: parsed flag values, an environ mapping, the `.lenv`/`.env` texts and the loaded
config file in; the effective RouterConfig and the source of every value out. `.lenv` and `.env`
never override the real environment (they sit below it). Secrets from the environment become
`SecretRef(env=NAME)`; from a flag or a dotfile a literal `SecretRef(value=…)`; never printed.

Pure: no argparse, no environment or file reading here; `gateway.cli.settings` puts the flags on
the command line and does that I/O, then calls `resolve`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dsl.config import checks
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


ENV_OR_FILE_ONLY: Mapping[str, str] = {
    "gonka.private_key": (
        "--gonka-private-key is refused: a wallet key on the command line is visible to every local user; "
        "set GONKA_PRIVATE_KEY, or `private-key-file PATH` in the `gonka:` block"
    ),
}
"""Secrets that move funds: accepted only from the environment, a dotfile or a file reference."""


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
        if layer == "flag" and setting.path in ENV_OR_FILE_ONLY:
            problems.append(Problem(ENV_OR_FILE_ONLY[setting.path], LAYER_FILES[layer]))
            continue
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
