"""Model aliases (OpenAI model names → Claude ids) and the `/v1/models` list. Pure.

The default table is the seed's `map_model`: `claude-*` ids pass through unchanged, the small GPT
names map to Haiku, the o-series and gpt-5 to Opus, anything else to Sonnet. `RouterConfig.model_aliases`
entries override it (case-insensitive); an alias named `*` replaces the catch-all target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dsl.model import ModelAlias

OPUS = "claude-opus-4-7"
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
FALLBACK = "*"

DEFAULT_ALIASES: tuple[ModelAlias, ...] = (
    ModelAlias("gpt-4o-mini", HAIKU),
    ModelAlias("gpt-4-mini", HAIKU),
    ModelAlias("o1", OPUS),
    ModelAlias("o1-pro", OPUS),
    ModelAlias("o3", OPUS),
    ModelAlias("o4", OPUS),
    ModelAlias("gpt-5", OPUS),
    ModelAlias(FALLBACK, SONNET),
)

# The seed's `/v1/models` list for the Anthropic upstream.
ANTHROPIC_MODELS: tuple[str, ...] = (
    OPUS,
    SONNET,
    HAIKU,
    "claude-sonnet-3-5-20241022",
    "claude-haiku-3-5-20241022",
)


@dataclass(frozen=True)
class AliasTable:
    """The effective alias map: lower-cased alias → target, plus the catch-all target."""

    entries: Mapping[str, str]
    fallback: str

    def resolve(self, model: str) -> str:
        key = model.strip().lower()
        if key in self.entries:
            return self.entries[key]
        if key.startswith("claude-"):
            return model.strip()
        return self.fallback


def build_alias_table(overrides: Iterable[ModelAlias] = ()) -> AliasTable:
    """The seed's table with the config's aliases layered on top (later entries win)."""
    entries: dict[str, str] = {}
    for alias in (*DEFAULT_ALIASES, *overrides):
        entries[alias.alias.strip().lower()] = alias.target
    fallback = entries.pop(FALLBACK, SONNET)
    return AliasTable(entries, fallback)


def model_entry(model_id: str, owned_by: str, created: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": model_id, "object": "model"}
    if created is not None:
        entry["created"] = created
    entry["owned_by"] = owned_by
    return entry


def anthropic_models_list(table: AliasTable, created: int) -> dict[str, Any]:
    """Claude ids first, then every configured alias (so clients can pick `gpt-4o` and see it)."""
    data = [model_entry(m, "anthropic", created) for m in ANTHROPIC_MODELS]
    seen = set(ANTHROPIC_MODELS)
    for alias in sorted(table.entries):
        if alias not in seen:
            seen.add(alias)
            data.append(model_entry(alias, "link-assistant-router", created))
    return {"object": "list", "data": data}


def provider_models_list(
    name: str, models: Iterable[str], default_model: str | None, created: int
) -> dict[str, Any]:
    """The seed's list for an OpenAI-compatible provider: its models, else its default, else `default`."""
    ids = [m for m in models if m] or [default_model or "default"]
    return {"object": "list", "data": [model_entry(m, name, created) for m in ids]}
