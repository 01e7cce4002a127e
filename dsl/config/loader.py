"""Link tree -> RouterConfig: walk the schema, convert values, collect every problem at once.

Pure: text or parsed links in, a frozen `RouterConfig` out, or one `DslValidationError` listing all
problems, each with file, line and column. Never echoes a secret: inline secrets are reported by key.
Also records where each value came from (`origins`: model path -> position) for `config show`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dsl.config import checks
from dsl.config import convert as c
from dsl.config.schema import (
    LISTS,
    SECTIONS,
    TOP_LEVEL_KEYS,
    FieldSpec,
    SectionSpec,
)
from dsl.config.tree import Entry, LinkLike, entries_of, first_position, is_ref, to_entry
from dsl.errors import DslValidationError, Problem
from dsl.model import ModelAlias, RouterConfig, SecretRef

Position = tuple[int | None, int | None]
_INVALID = object()
_SHOWN_VALUE_MAX = 60


@dataclass(frozen=True)
class LoadedConfig:
    config: RouterConfig
    origins: dict[str, Position]
    """Model path (`server.port`, `accounts.main.priority`) -> where the file set it."""
    source: str


def load_config(text: str, source: str = "<string>") -> RouterConfig:
    """Parse and validate a config DSL text; raises DslSyntaxError or DslValidationError."""
    return load_config_traced(text, source).config


def load_config_traced(text: str, source: str = "<string>", *, cross_checks: bool = True) -> LoadedConfig:
    """`load_config` plus where each value was set.

    `cross_checks=False` skips the rules that other settings layers may satisfy (a gonka upstream's
    key from GONKA_PRIVATE_KEY, …); the settings resolver runs them on the effective config instead.
    """
    from dsl.lino import parse  # the parser package; imported here to keep this module light

    try:
        links = parse(text, source=source)
        return load_links(links, source, cross_checks=cross_checks)
    except RecursionError:
        raise DslValidationError([Problem("the document is nested too deeply", source)]) from None


def load_links(
    links: Sequence[LinkLike], source: str = "<string>", *, cross_checks: bool = True
) -> LoadedConfig:
    """Build the config from already-parsed links (the parser's output, or hand-built trees)."""
    builder = _Builder(source)
    config = builder.document(links)
    located = dict(builder.origins)
    for path, message, expected in checks.cross_check(config) if cross_checks else []:
        line, column = located.get(path, (None, None))
        builder.problems.append(Problem(message, source, line, column, expected=expected))
    if builder.problems:
        ordered = sorted(builder.problems, key=lambda p: (p.line or 0, p.column or 0))
        raise DslValidationError(ordered)
    return LoadedConfig(config, builder.origins, source)


@dataclass
class _Builder:
    file: str
    problems: list[Problem] = field(default_factory=list)
    origins: dict[str, Position] = field(default_factory=dict)

    def problem(self, at: Entry | LinkLike | Position, message: str, **extra: str | None) -> None:
        if isinstance(at, tuple):
            line, column = at
        elif isinstance(at, Entry):
            line, column = at.line, at.column
        else:
            line, column = first_position(at)
        self.problems.append(Problem(message, self.file, line, column, **extra))

    # -- top level -------------------------------------------------------------------------
    def document(self, links: Sequence[LinkLike]) -> RouterConfig:
        kwargs: dict[str, Any] = {}
        seen: dict[str, Entry] = {}
        colonless: set[str] = set()
        for link in links:
            head = _path_link_head(link)
            if head is not None:
                # An unknown head was already reported (with a suggestion) on its own line.
                if head.id not in colonless and head.id in TOP_LEVEL_KEYS:
                    colonless.add(head.id or "")
                    self.problem(
                        head,
                        f"`{head.id}` has indented lines below it but no colon",
                        hint=f"write `{head.id}:` to start a block",
                    )
                continue
            entry = to_entry(link)
            if entry is None:
                self.problem(link, "unexpected group at the top level", expected="a block such as `server:`")
                continue
            self.top_entry(entry, seen, kwargs)
        return RouterConfig(**kwargs)

    def top_entry(self, entry: Entry, seen: dict[str, Entry], kwargs: dict[str, Any]) -> None:
        if entry.key not in TOP_LEVEL_KEYS:
            self.unknown(
                entry,
                TOP_LEVEL_KEYS,
                "this file",
                "block",
                fallback="named records go inside a block: providers under `providers:`, "
                "accounts under `accounts:`",
            )
            return
        if entry.key in seen:
            first = seen[entry.key]
            self.problem(
                entry,
                f"block `{entry.key}` appears twice (first at line {first.line})",
                hint="merge the two blocks",
            )
            return
        seen[entry.key] = entry
        if entry.has_inline_values():
            self.problem(
                entry,
                f"`{entry.key}:` takes indented entries, not a value on its line",
                expected=f"`{entry.key}:` followed by indented `key value` lines",
            )
            return
        entries = self.entries(entry.args, f"`{entry.key}`")
        if entry.key in SECTIONS:
            attr, spec = SECTIONS[entry.key]
            kwargs[attr] = spec.cls(**self.section(entries, spec, attr, f"`{entry.key}`"))
        elif entry.key in LISTS:
            attr, spec = LISTS[entry.key]
            kwargs[attr] = self.records(entries, spec, attr)
        else:
            kwargs["model_aliases"] = self.aliases(entries)
        self.origins[kwargs_path(entry.key)] = (entry.line, entry.column)

    def entries(self, args: Sequence[LinkLike], where: str) -> list[Entry]:
        entries, problems = entries_of(args, self.file, where)
        self.problems += problems
        return entries

    def unknown(
        self, entry: Entry, known: Sequence[str], where: str, what: str = "key", fallback: str | None = None
    ) -> None:
        guess = difflib.get_close_matches(entry.key, known, n=1, cutoff=0.6)
        self.problem(
            entry,
            f"unknown {what} `{_brief(entry.key)}` in {where}",
            expected="one of: " + ", ".join(known),
            hint=f"did you mean `{guess[0]}`?" if guess else fallback,
        )

    # -- records ---------------------------------------------------------------------------
    def records(self, entries: list[Entry], spec: SectionSpec, attr: str) -> tuple[Any, ...]:
        records: list[Any] = []
        seen: dict[str, Entry] = {}
        for entry in entries:
            try:
                name = c.to_name(entry.key)
            except c.ConversionError as err:
                self.problem(entry, f"invalid {spec.name} name {_shown(entry.key)}", expected=err.expected)
                continue
            if name in seen:
                self.problem(entry, f"duplicate {spec.name} name `{name}` (first at line {seen[name].line})")
                continue
            seen[name] = entry
            if entry.has_inline_values():
                self.problem(
                    entry,
                    f"{spec.name} `{name}` takes indented `key value` lines",
                    expected=f"`{name}` followed by lines such as `{spec.fields[0].key} …`",
                )
                continue
            path = f"{attr}.{name}"
            self.origins[path] = (entry.line, entry.column)
            body = self.entries(entry.args, f"{spec.name} `{name}`")
            before = len(self.problems)
            fields = self.section(body, spec, path, f"{spec.name} `{name}`")
            if len(self.problems) == before:
                for message, expected in checks.record_findings(spec.name, name, fields):
                    self.problem(entry, message, expected=expected)
            records.append(spec.cls(name=name, **fields))
        return tuple(records)

    def aliases(self, entries: list[Entry]) -> tuple[ModelAlias, ...]:
        aliases: list[ModelAlias] = []
        seen: dict[str, Entry] = {}
        for entry in entries:
            values = entry.scalars()
            if values is None or len(values) != 1 or not values[0].strip():
                self.problem(
                    entry,
                    f"model alias `{_brief(entry.key)}` needs exactly one target model",
                    expected="`alias target`, e.g. `gpt-4o claude-sonnet-4-5`",
                )
                continue
            if entry.key in seen:
                first_line = seen[entry.key].line
                self.problem(entry, f"duplicate model alias `{entry.key}` (first at line {first_line})")
                continue
            seen[entry.key] = entry
            self.origins[f"model_aliases.{entry.key}"] = (entry.line, entry.column)
            aliases.append(ModelAlias(entry.key, values[0]))
        return tuple(aliases)

    # -- fields ----------------------------------------------------------------------------
    def section(self, entries: list[Entry], spec: SectionSpec, path: str, where: str) -> dict[str, Any]:
        table = spec.key_table
        kwargs: dict[str, Any] = {}
        seen: dict[str, Entry] = {}
        for entry in entries:
            hit = table.get(entry.key)
            if hit is None:
                self.unknown(entry, spec.canonical_keys, where)
                continue
            spec_field, variant = hit
            if spec_field.attr in seen:
                first = seen[spec_field.attr]
                self.problem(
                    entry,
                    f"`{entry.key}` repeats `{first.key}` from line {first.line} in {where}",
                    hint="give it once",
                )
                continue
            seen[spec_field.attr] = entry
            value = self.value(entry, spec_field, variant, f"{path}.{spec_field.attr}")
            if value is not _INVALID:
                kwargs[spec_field.attr] = value
                self.origins[f"{path}.{spec_field.attr}"] = (entry.line, entry.column)
        return kwargs

    def value(self, entry: Entry, spec_field: FieldSpec, variant: str, path: str) -> Any:
        if spec_field.section is not None:
            if not entry.args or entry.has_inline_values():
                self.problem(
                    entry,
                    f"`{entry.key}` takes an indented block",
                    expected=f"`{entry.key}:` followed by lines such as "
                    f"`{spec_field.section.fields[0].key} …`",
                )
                return _INVALID
            sub = spec_field.section
            body = self.entries(entry.args, f"`{entry.key}`")
            return sub.cls(**self.section(body, sub, path, f"`{entry.key}`"))
        values = entry.scalars()
        if values is None:
            self.problem(entry, f"`{entry.key}` takes a value, not a nested block")
            return _INVALID
        if spec_field.secret:
            return self.secret(entry, spec_field, variant, values)
        if spec_field.many:
            return self.many(entry, spec_field, values)
        if len(values) != 1:
            self.problem(
                entry,
                f"`{entry.key}` takes exactly one value, got {len(values)}",
                hint="quote a value that contains spaces",
            )
            return _INVALID
        return self.convert(entry, spec_field, values[0])

    def convert(self, entry: Entry, spec_field: FieldSpec, text: str) -> Any:
        try:
            return spec_field.convert(text)
        except c.ConversionError as err:
            shown = f" {_shown(text)}" if err.echo else ""
            self.problem(entry, f"invalid value{shown} for `{entry.key}`", expected=err.expected)
        except (ValueError, ArithmeticError):
            # A converter that lets a value error or overflow through is a bug (the converter tests
            # look for them), but the user still gets a located problem, never a traceback.
            self.problem(entry, f"invalid value {_shown(text)} for `{entry.key}`")
        return _INVALID

    def many(self, entry: Entry, spec_field: FieldSpec, values: list[str]) -> Any:
        items: list[Any] = []
        for text in values:
            for part in c.to_csv(text):
                item = self.convert(entry, spec_field, part)
                if item is _INVALID:
                    return _INVALID
                items.append(item)
        return tuple(items)

    def secret(self, entry: Entry, spec_field: FieldSpec, variant: str, values: list[str]) -> Any:
        base = spec_field.key
        if variant == "value" and not (
            spec_field.inline_ok and len(values) == 1 and spec_field.inline_ok(values[0])
        ):
            self.problem(
                entry,
                f"`{entry.key}` must not be written inline: secrets never go in the config file",
                expected=f"`{base}-env NAME` (an environment variable holding it) or `{base}-file PATH`",
            )
            return _INVALID
        if len(values) != 1:
            self.problem(entry, f"`{entry.key}` takes exactly one value, got {len(values)}")
            return _INVALID
        text = values[0]
        if variant == "value":
            return SecretRef(value=text)
        if variant == "file":
            if not text.strip():
                self.problem(entry, f"`{entry.key}` needs a file path")
                return _INVALID
            return SecretRef(file=text)
        try:
            return SecretRef(env=c.to_env_name(text))
        except c.ConversionError as err:
            self.problem(
                entry,
                f"invalid environment variable name {_shown(text)} for `{entry.key}`",
                expected=err.expected,
            )
            return _INVALID


def kwargs_path(block_key: str) -> str:
    """The model path of a top-level block (`openai-compatible` -> `openai_compatible`)."""
    if block_key in SECTIONS:
        return SECTIONS[block_key][0]
    if block_key in LISTS:
        return LISTS[block_key][0]
    return "model_aliases"


def _path_link_head(link: LinkLike) -> LinkLike | None:
    """For the `((server) (port 8080))` links Links Notation makes of a colon-less block, `server`."""
    if link.id is not None or len(link.values) != 2:
        return None
    parent = link.values[0]
    if parent.id is None and parent.values and not is_ref(parent):
        while parent.id is None and parent.values and not is_ref(parent.values[0]):
            parent = parent.values[0]
        if parent.values and is_ref(parent.values[0]):
            return parent.values[0]
    return None


def _brief(text: str) -> str:
    """A user-written key, shortened for an error message."""
    return text if len(text) <= _SHOWN_VALUE_MAX else text[:_SHOWN_VALUE_MAX] + "…"


def _shown(text: str) -> str:
    """A non-secret value, quoted and shortened, for an error message."""
    return repr(_brief(text))
