"""Resolve a `SecretRef` (env var, file, or a value given on the command line) to its text.

Pure apart from reading the referenced file. Never logs the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dsl.model import SecretRef


def resolve_secret(ref: SecretRef | None, environ: Mapping[str, str]) -> str | None:
    """The secret's text, or None when it is unset or empty."""
    if ref is None:
        return None
    if ref.value:
        return ref.value
    if ref.env:
        value = environ.get(ref.env, "")
        return value or None
    if ref.file:
        try:
            text = Path(ref.file).expanduser().read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return text or None
    return None
