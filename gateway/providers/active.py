"""Which OpenAI-compatible provider serves `UPSTREAM_PROVIDER=openai-compatible`, and its key. Pure.

As in the seed: the stored record named `OPENAI_COMPATIBLE_PROVIDER_NAME` if it exists and is
enabled; then (our addition) a provider of that name declared in the config file; otherwise the
boot-time `OPENAI_COMPATIBLE_*` settings. A stored record's `api_key_env` (when set and non-empty
in the environment) wins over its encrypted inline key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dsl.model import RouterConfig
from gateway.credentials.secrets import resolve_secret
from gateway.errors import GatewayError
from gateway.providers.crypto import ProviderKeyError, decrypt_key
from gateway.providers.records import ProviderRecord


@dataclass(frozen=True)
class ActiveProvider:
    name: str
    base_url: str
    default_model: str | None = None
    models: tuple[str, ...] = ()
    api_key: str | None = field(default=None, repr=False)


def record_key(record: ProviderRecord, environ: Mapping[str, str], secret: str) -> str | None:
    if record.api_key_env and environ.get(record.api_key_env):
        return environ[record.api_key_env]
    if record.encrypted_api_key:
        try:
            return decrypt_key(record.encrypted_api_key, secret)
        except ProviderKeyError as exc:
            raise GatewayError(500, "api_error", f"provider lookup failed: {exc}") from exc
    return None


def active_provider(
    config: RouterConfig, environ: Mapping[str, str], stored: Sequence[ProviderRecord], secret: str
) -> ActiveProvider:
    boot = config.openai_compatible
    name = boot.provider_name
    record = next((r for r in stored if r.name == name and r.enabled), None)
    if record is not None:
        key = record_key(record, environ, secret)
        return ActiveProvider(record.name, record.base_url, record.default_model, record.models, key)
    declared = next((p for p in config.providers if p.name == name and p.enabled), None)
    if declared is not None:
        key = resolve_secret(declared.api_key, environ)
        base_url = declared.base_url.rstrip("/")
        return ActiveProvider(declared.name, base_url, declared.model, declared.models, key)
    key = resolve_secret(boot.api_key, environ)
    return ActiveProvider(name, boot.base_url.rstrip("/"), boot.model, boot.models, key)


def provider_url(base_url: str, path: str) -> str:
    """Join like the seed: a base ending in `/v1` does not get a second `/v1` from the path."""
    base = base_url.rstrip("/")
    if base.endswith("/v1") and (path == "/v1" or path.startswith("/v1/")):
        path = path[3:]
    return base + path
