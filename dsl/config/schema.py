"""The schema of the config DSL: which blocks and keys exist, their types, and where they land.

Pure data. Every key is kebab-case; a `FieldSpec` names the dataclass attribute it fills and the
converter for its text. Secret fields accept only `<key>-env NAME` or `<key>-file PATH`.
The loader (`dsl.config.loader`) walks these tables; `config fmt --help` and the README list them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from dsl.config import convert as c
from dsl.model import (
    AccountConfig,
    ActivityPubConfig,
    AdminConfig,
    CraterConfig,
    FeaturesConfig,
    GonkaConfig,
    MppConfig,
    OpenAICompatibleDefaults,
    ProviderConfig,
    RedisConfig,
    RoutingConfig,
    ServerConfig,
    StorageConfig,
    TimeoutConfig,
    TokenDefaults,
    UpstreamConfig,
)

Converter = Callable[[str], Any]


@dataclass(frozen=True)
class FieldSpec:
    key: str
    attr: str
    convert: Converter = c.to_text
    many: bool = False
    """A list: several values on the line, or one comma-separated value (the seed's `models "a,b"`)."""
    secret: bool = False
    """Only `<key>-env NAME` / `<key>-file PATH`; an inline value is an error (unless `inline_ok`)."""
    inline_ok: Callable[[str], bool] | None = None
    aliases: tuple[str, ...] = ()
    section: SectionSpec | None = None
    """A nested block (e.g. `timeouts:` under `upstream:`)."""


@dataclass(frozen=True)
class SectionSpec:
    name: str
    cls: type
    fields: tuple[FieldSpec, ...]

    @cached_property
    def key_table(self) -> dict[str, tuple[FieldSpec, str]]:
        return key_table(self)

    @cached_property
    def canonical_keys(self) -> tuple[str, ...]:
        return canonical_keys(self)


def _amount(text: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?", text.strip()):
        raise c.ConversionError("a decimal amount such as 0.05")
    return text.strip()


def _duration_ms(text: str) -> int:
    return round(c.to_seconds(text) * 1000)


def _whole_seconds(text: str) -> int:
    return c.to_whole_unit(text, 1, "seconds")


def _ttl_hours(text: str) -> int:
    return c.to_whole_unit(text, 3600, "hours")


def _int_min(minimum: int) -> Converter:
    return lambda text: c.to_int(text, minimum=minimum)


def _choice(synonyms: Any) -> Converter:
    return lambda text: c.to_choice(text, synonyms)


def _redis_inline_ok(text: str) -> bool:
    return not c.url_has_password(text)


F = FieldSpec

TIMEOUTS = SectionSpec(
    "timeouts",
    TimeoutConfig,
    (
        F("connect", "connect", c.to_seconds),
        F("first-byte", "first_byte", c.to_seconds),
        F("idle", "idle", c.to_seconds),
    ),
)

SERVER = SectionSpec(
    "server",
    ServerConfig,
    (
        F("host", "host"),
        F("port", "port", c.to_port),
        F("admin-grpc-host", "admin_grpc_host"),
        F("admin-grpc-port", "admin_grpc_port", c.to_optional_port),
        F("verbose", "verbose", c.to_bool),
        F("json-logs", "json_logs", c.to_bool),
        F("max-body-size", "max_body_bytes", c.to_size),
        F("admin-max-body-size", "admin_max_body_bytes", c.to_size),
        F("header-timeout", "header_timeout", c.to_seconds),
        F("keepalive-timeout", "keepalive_timeout", c.to_seconds),
        F("max-connections", "max_connections", _int_min(1)),
        F("tls-cert-file", "tls_cert_file"),
        F("tls-key-file", "tls_key_file"),
        F("admin-grpc-client-ca-file", "admin_grpc_client_ca_file"),
    ),
)

UPSTREAM = SectionSpec(
    "upstream",
    UpstreamConfig,
    (
        F("provider", "provider", _choice(c.PROVIDER_SYNONYMS)),
        F("base-url", "base_url", c.to_url),
        F("api-format", "api_format", _choice(c.API_FORMAT_SYNONYMS)),
        F("claude-code-home", "claude_code_home"),
        F("additional-account-dirs", "additional_account_dirs", many=True),
        F("oauth-token-url", "oauth_token_url", c.to_url),
        F("timeouts", "timeouts", section=TIMEOUTS),
    ),
)

ACCOUNT = SectionSpec(
    "account",
    AccountConfig,
    (
        F("oauth-home", "oauth_home"),
        F("api-key", "api_key", secret=True),
        F("priority", "priority", c.to_int),
        F("weight", "weight", _int_min(1)),
        F("models", "models", many=True),
        F("max-concurrent", "max_concurrent", _int_min(1)),
        F("base-url", "base_url", c.to_url),
    ),
)

ROUTING = SectionSpec(
    "routing",
    RoutingConfig,
    (
        F("strategy", "strategy", _choice(c.STRATEGY_SYNONYMS)),
        F("session-affinity", "session_affinity", c.to_bool),
        F("cooldown", "cooldown_seconds", c.to_seconds),
        F("retry-before-first-byte", "retry_before_first_byte", _int_min(0)),
        F("outlier-consecutive", "outlier_consecutive", _int_min(1)),
        F("mode", "mode", _choice(c.ROUTING_MODE_SYNONYMS)),
        F("claude-cli-bin", "claude_cli_bin"),
    ),
)

# Keys and spellings of the seed's indented provider form are all accepted.
PROVIDER = SectionSpec(
    "provider",
    ProviderConfig,
    (
        F("kind", "kind", c.to_provider_kind),
        F("base-url", "base_url", c.to_url, aliases=("base_url", "api_base", "api-base")),
        F("model", "model", aliases=("default_model", "default-model")),
        F("models", "models", many=True),
        F("api-key", "api_key", secret=True, aliases=("api_key",)),
        F("enabled", "enabled", c.to_bool),
    ),
)

OPENAI_COMPATIBLE = SectionSpec(
    "openai-compatible",
    OpenAICompatibleDefaults,
    (
        F("provider-name", "provider_name", c.to_name),
        F("base-url", "base_url", c.to_url),
        F("api-key", "api_key", secret=True),
        F("model", "model"),
        F("models", "models", many=True),
    ),
)

STORAGE = SectionSpec(
    "storage",
    StorageConfig,
    (F("policy", "policy", _choice(c.STORAGE_SYNONYMS)), F("data-dir", "data_dir")),
)

REDIS = SectionSpec(
    "redis",
    RedisConfig,
    (F("url", "url", secret=True, inline_ok=_redis_inline_ok), F("key-prefix", "key_prefix")),
)

FEATURES = SectionSpec(
    "features",
    FeaturesConfig,
    (
        F("openai-api", "openai_api", c.to_bool),
        F("anthropic-api", "anthropic_api", c.to_bool),
        F("metrics", "metrics", c.to_bool),
        F("claude-code-identity", "claude_code_identity", c.to_bool),
        F("experimental-compatibility", "experimental_compatibility", c.to_bool),
        F("hot-reload", "hot_reload", c.to_bool),
        F("activitypub", "activitypub", c.to_bool),
    ),
)

TOKENS = SectionSpec(
    "tokens",
    TokenDefaults,
    (
        F("ttl", "ttl_hours", _ttl_hours, aliases=("ttl-hours",)),
        F("max-requests", "max_requests", _int_min(1)),
        F("max-tokens", "max_tokens", _int_min(1)),
        F("rate-limit-per-minute", "rate_limit_per_minute", _int_min(1)),
    ),
)

ADMIN = SectionSpec(
    "admin",
    AdminConfig,
    (F("token-secret", "token_secret", secret=True), F("admin-key", "admin_key", secret=True)),
)

MPP = SectionSpec(
    "mpp",
    MppConfig,
    (
        F("enabled", "enabled", c.to_bool),
        F("amount", "amount", _amount),
        F("currency", "currency"),
        F("recipient", "recipient"),
        F("method", "method"),
    ),
)

GONKA = SectionSpec(
    "gonka",
    GonkaConfig,
    (
        F("private-key", "private_key", secret=True),
        F("source-url", "source_url", c.to_url),
        F("model", "model"),
        F("endpoints", "endpoints"),
    ),
)

CRATER = SectionSpec(
    "crater",
    CraterConfig,
    (
        F("inbox", "inbox", c.to_url),
        F("actor", "actor", c.to_url),
        F("target", "target", c.to_url),
        F("poll-interval", "poll_interval_ms", _duration_ms),
        F("poll-timeout", "poll_timeout_secs", _whole_seconds),
    ),
)

ACTIVITYPUB = SectionSpec(
    "activitypub",
    ActivityPubConfig,
    (
        F("actor-base-url", "actor_base_url", c.to_url),
        F("public-key-pem", "public_key_pem"),
        F("private-key", "private_key", secret=True),
        F("rate-limit-per-minute", "rate_limit_per_minute", _int_min(1)),
    ),
)

# Top-level blocks that hold one record each; attr is the RouterConfig field.
SECTIONS: Mapping[str, tuple[str, SectionSpec]] = {
    "server": ("server", SERVER),
    "upstream": ("upstream", UPSTREAM),
    "routing": ("routing", ROUTING),
    "openai-compatible": ("openai_compatible", OPENAI_COMPATIBLE),
    "storage": ("storage", STORAGE),
    "redis": ("redis", REDIS),
    "features": ("features", FEATURES),
    "tokens": ("tokens", TOKENS),
    "admin": ("admin", ADMIN),
    "mpp": ("mpp", MPP),
    "gonka": ("gonka", GONKA),
    "crater": ("crater", CRATER),
    "activitypub": ("activitypub", ACTIVITYPUB),
}
# Top-level blocks that hold named records.
LISTS: Mapping[str, tuple[str, SectionSpec]] = {
    "accounts": ("accounts", ACCOUNT),
    "providers": ("providers", PROVIDER),
}
ALIASES_BLOCK = "model-aliases"
TOP_LEVEL_KEYS: tuple[str, ...] = (*SECTIONS, *LISTS, ALIASES_BLOCK)


def key_table(spec: SectionSpec) -> dict[str, tuple[FieldSpec, str]]:
    """Every accepted spelling of a key in `spec` -> (field, variant) with variant value|env|file."""
    table: dict[str, tuple[FieldSpec, str]] = {}
    for field in spec.fields:
        for name in (field.key, *field.aliases):
            table[name] = (field, "value")
            if field.secret:
                sep = "_" if "_" in name else "-"
                table[f"{name}{sep}env"] = (field, "env")
                table[f"{name}{sep}file"] = (field, "file")
    return table


def canonical_keys(spec: SectionSpec) -> tuple[str, ...]:
    """The keys to suggest and document (no seed aliases, secrets only in -env/-file form)."""
    keys: list[str] = []
    for field in spec.fields:
        if field.secret:
            keys += [f"{field.key}-env", f"{field.key}-file"]
            if field.inline_ok is not None:
                keys.append(field.key)
        else:
            keys.append(field.key)
    return tuple(keys)
