"""OpenAI-compatible provider records: validation, the seed's JSON shape, the redacted view. Pure.

A `ProviderRecord` is what providers.lenv stores (inline keys only ever encrypted). An upsert
takes the same fields plus a plaintext `api_key`, which `to_record` encrypts. Upsert replaces the
whole record, as in the seed. The redacted view shows only whether a key is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import bad_request
from gateway.providers.crypto import encrypt_key

KIND = "openai-compatible"
KIND_ALIASES = frozenset({KIND, "openai", "openai_like", "openai-like", "litellm"})
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True)
class ProviderRecord:
    name: str
    base_url: str
    kind: str = KIND
    default_model: str | None = None
    models: tuple[str, ...] = ()
    api_key_env: str | None = None
    encrypted_api_key: str | None = field(default=None, repr=False)
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        """The seed's stored shape: optional fields omitted when empty."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "base_url": self.base_url}
        if self.default_model:
            out["default_model"] = self.default_model
        if self.models:
            out["models"] = list(self.models)
        if self.api_key_env:
            out["api_key_env"] = self.api_key_env
        if self.encrypted_api_key:
            out["encrypted_api_key"] = self.encrypted_api_key
        out["enabled"] = self.enabled
        return out

    def redacted(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "base_url": self.base_url}
        if self.default_model:
            out["default_model"] = self.default_model
        out["models"] = list(self.models)
        if self.api_key_env:
            out["api_key_env"] = self.api_key_env
        out["has_encrypted_api_key"] = bool(self.encrypted_api_key)
        out["enabled"] = self.enabled
        return out


@dataclass(frozen=True)
class ProviderInput:
    """An upsert request: a record's fields plus an optional plaintext key (never stored as such)."""

    record: ProviderRecord
    api_key: str | None = field(default=None, repr=False)

    def to_record(self, secret: str) -> ProviderRecord:
        if not self.api_key:
            return self.record
        encrypted = encrypt_key(self.api_key, secret)
        return ProviderRecord(**{**self.record.__dict__, "encrypted_api_key": encrypted})


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"provider field {key!r} must be a string")
    return value.strip() or None


def parse_models(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(m.strip() for m in value.split(",") if m.strip())
    if isinstance(value, list) and all(isinstance(m, str) for m in value):
        return tuple(m.strip() for m in value if m.strip())
    raise bad_request("provider field 'models' must be a list of strings or a comma-separated string")


def parse_enabled(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    raise bad_request("provider field 'enabled' must be a boolean")


def normalize_base_url(url: str | None) -> str:
    if not url:
        raise bad_request("provider field 'base_url' is required")
    if not url.startswith(("http://", "https://")):
        raise bad_request("provider base_url must start with http:// or https://")
    return url.rstrip("/")


def normalize_kind(kind: str | None) -> str:
    if kind is None:
        return KIND
    if kind.lower() not in KIND_ALIASES:
        raise bad_request(f"provider kind {kind!r} is not supported (use {KIND!r})")
    return KIND


def provider_input(data: Any) -> ProviderInput:
    """Validate one provider object (HTTP body, JSON import, a stored line) into an upsert."""
    if not isinstance(data, Mapping):
        raise bad_request("a provider must be a JSON object")
    name = _text(data, "name")
    if name is None or not NAME_PATTERN.match(name):
        raise bad_request("provider name is required: ASCII letters, digits, '-', '_' and '.' only")
    record = ProviderRecord(
        name=name,
        kind=normalize_kind(_text(data, "kind")),
        base_url=normalize_base_url(_text(data, "base_url")),
        default_model=_text(data, "default_model") or _text(data, "model"),
        models=parse_models(data.get("models")),
        api_key_env=_text(data, "api_key_env"),
        encrypted_api_key=_text(data, "encrypted_api_key"),
        enabled=parse_enabled(data.get("enabled")),
    )
    return ProviderInput(record, _text(data, "api_key"))
