"""A RouterConfig as flat `path -> value` pairs, with secrets redacted, and path-based updates.

Pure. `flatten` feeds `config show` and the source table of the settings resolver; `set_path`
lets the resolver replace one field of the frozen tree.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, TypeVar

from dsl.model import ModelAlias, SecretRef

T = TypeVar("T")


def set_path(obj: T, path: str, value: Any) -> T:
    """A copy of the frozen dataclass tree `obj` with the field at dotted `path` replaced."""
    head, _, rest = path.partition(".")
    if rest:
        value = set_path(getattr(obj, head), rest, value)
    return dataclasses.replace(obj, **{head: value})  # type: ignore[type-var]


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Every leaf of the config as (`server.port`, `8080`); records are keyed by their name."""
    rows: list[tuple[str, str]] = []
    for spec in dataclasses.fields(obj):
        value = getattr(obj, spec.name)
        path = f"{prefix}{spec.name}"
        if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for item in value:
                if isinstance(item, ModelAlias):
                    rows.append((f"{path}.{item.alias}", item.target))
                else:
                    rows += flatten(item, f"{path}.{item.name}.")
        elif dataclasses.is_dataclass(value) and not isinstance(value, SecretRef):
            rows += flatten(value, f"{path}.")
        else:
            rows.append((path, display(value)))
    return rows


def display(value: Any) -> str:
    """How `config show` prints one value; a secret shows only where it comes from."""
    if isinstance(value, SecretRef):
        return value.describe()
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) if value else "-"
    # One setting per output line: a multi-line value (a PEM) shows its line breaks as escapes.
    return str(value).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
