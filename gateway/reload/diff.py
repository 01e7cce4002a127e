"""What a reload would change between two configs, and which changes need a restart (pure).

Both configs are flattened by `dsl.config.view.flatten` (secrets appear only as their references, so
a diff never shows a secret). A change under a restart-only key (a listener, the token store, the
routes registered at start-up, logging) cannot be applied to a running process: the reloader reports
it and applies nothing, never half of a config.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl.config.view import flatten
from dsl.model import RouterConfig

# Prefixes of keys the running process read once at start-up (listeners, stores, route tables, logs).
RESTART_ONLY: tuple[str, ...] = (
    "server.",
    "storage.",
    "redis.",
    "tokens.",
    "admin.token_secret",
    "features.openai_api",
    "features.anthropic_api",
    "features.metrics",
    "upstream.provider",  # picks the OpenAI routes' door at start-up
    "model_aliases",  # the OpenAI routes' alias table is built at start-up
    "mpp.",
    "activitypub.",
    "gonka.",  # the Gonka door (signer, endpoints) is built at start-up
    "crater.",  # so is the Crater door
)


@dataclass(frozen=True)
class Change:
    key: str
    old: str | None  # None: the key is new
    new: str | None  # None: the key is gone

    @property
    def needs_restart(self) -> bool:
        return self.key.startswith(RESTART_ONLY)

    def render(self) -> str:
        if self.old is None:
            return f"+ {self.key} = {self.new}"
        if self.new is None:
            return f"- {self.key} = {self.old}"
        return f"~ {self.key}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class ConfigDiff:
    changes: tuple[Change, ...]

    @property
    def restart_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes if c.needs_restart)

    @property
    def empty(self) -> bool:
        return not self.changes

    def render(self) -> str:
        """One line per change; restart-only ones marked, as `config diff` prints them."""
        if not self.changes:
            return "no changes"
        lines = [c.render() + ("   (needs a restart)" if c.needs_restart else "") for c in self.changes]
        return "\n".join(lines)


def diff_configs(old: RouterConfig, new: RouterConfig) -> ConfigDiff:
    before, after = dict(flatten(old)), dict(flatten(new))
    keys = list(before) + [k for k in after if k not in before]
    return ConfigDiff(
        tuple(Change(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k))
    )
