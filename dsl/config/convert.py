"""Scalar converters shared by the DSL loader and the flag/env resolver.

Pure: text in, typed value out, or `ConversionError` saying what was expected. The error never
repeats the offending text itself; callers decide whether it is safe to echo (it is not for secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from dsl.model import ApiFormat, RoutingMode, RoutingStrategy, StoragePolicy, UpstreamProvider

E = TypeVar("E", bound=StrEnum)


class ConversionError(ValueError):
    """A value has the wrong shape; `expected` says what would have been accepted.

    `echo=False` when the value itself must not be shown (it holds a credential).
    """

    def __init__(self, expected: str, *, echo: bool = True) -> None:
        self.expected = expected
        self.echo = echo
        super().__init__(expected)


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
BOOL_EXPECTED = "on/off (also true/false, yes/no, 1/0)"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Longer durations are mistakes, and they overflow downstream (milliseconds as int, thread timeouts).
MAX_DURATION_SECONDS = 10 * 365 * 86400
DURATION_EXPECTED = (
    "a duration such as 500ms, 60s, 5m, 1h or 1h30m (a bare number means seconds), at most 10 years"
)
# Bigger whole numbers are mistakes; this is the largest JSON, Redis counters and floats hold exactly.
MAX_WHOLE = 2**53

_SIZE = re.compile(r"(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}

# The seed's accepted spellings.
STORAGE_SYNONYMS: Mapping[str, StoragePolicy] = {
    "memory": StoragePolicy.MEMORY,
    "mem": StoragePolicy.MEMORY,
    "none": StoragePolicy.MEMORY,
    "text": StoragePolicy.TEXT,
    "lino": StoragePolicy.TEXT,
    "binary": StoragePolicy.BINARY,
    "bin": StoragePolicy.BINARY,
    "link-cli": StoragePolicy.BINARY,
    "linkcli": StoragePolicy.BINARY,
    "clink": StoragePolicy.BINARY,
    "both": StoragePolicy.BOTH,
    "dual": StoragePolicy.BOTH,
}
ROUTING_MODE_SYNONYMS: Mapping[str, RoutingMode] = {
    "direct": RoutingMode.DIRECT,
    "cli": RoutingMode.CLI,
    "subprocess": RoutingMode.CLI,
    "hybrid": RoutingMode.HYBRID,
    "auto": RoutingMode.HYBRID,
}
API_FORMAT_SYNONYMS: Mapping[str, ApiFormat] = {
    "anthropic": ApiFormat.ANTHROPIC,
    "messages": ApiFormat.ANTHROPIC,
    "bedrock": ApiFormat.BEDROCK,
    "invoke": ApiFormat.BEDROCK,
    "vertex": ApiFormat.VERTEX,
    "rawpredict": ApiFormat.VERTEX,
}
STRATEGY_SYNONYMS: Mapping[str, RoutingStrategy] = {
    "round-robin": RoutingStrategy.ROUND_ROBIN,
    "roundrobin": RoutingStrategy.ROUND_ROBIN,
    "rr": RoutingStrategy.ROUND_ROBIN,
    "priority": RoutingStrategy.PRIORITY,
    "prio": RoutingStrategy.PRIORITY,
    "least-used": RoutingStrategy.LEAST_USED,
    "leastused": RoutingStrategy.LEAST_USED,
    "lru": RoutingStrategy.LEAST_USED,
    "weighted": RoutingStrategy.WEIGHTED,
}
PROVIDER_SYNONYMS: Mapping[str, UpstreamProvider] = {
    **{p.value: p for p in UpstreamProvider},
    # The seed's aliases for UPSTREAM_PROVIDER=openai-compatible.
    **dict.fromkeys(("openai", "openai_like", "openai-like", "litellm"), UpstreamProvider.OPENAI_COMPATIBLE),
}
PROVIDER_KIND_SYNONYMS: Mapping[str, str] = {
    "openai-compatible": "openai-compatible",
    "openai": "openai-compatible",
    "openai_like": "openai-compatible",
    "openai-like": "openai-compatible",
    "litellm": "openai-compatible",
}

_NAME = re.compile(r"[A-Za-z0-9._-]+")


def to_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConversionError(BOOL_EXPECTED)


def to_int(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number; with no `maximum`, at most `MAX_WHOLE` (what JSON, Redis and floats hold exactly)."""
    expected = "a whole number"
    if minimum is not None and maximum is not None:
        expected = f"a whole number from {minimum} to {maximum}"
    elif minimum is not None:
        expected = f"a whole number ≥ {minimum}"
    try:
        value = int(text.strip().replace("_", ""), 10)
    except ValueError:
        raise ConversionError(expected) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConversionError(expected)
    if maximum is None and abs(value) > MAX_WHOLE:
        low = f"{minimum:,}" if minimum is not None else f"-{MAX_WHOLE:,}"
        raise ConversionError(f"a whole number from {low} to {MAX_WHOLE:,}")
    return value


def to_port(text: str) -> int:
    try:
        return to_int(text, minimum=0, maximum=65535)
    except ConversionError:
        raise ConversionError("a port number from 0 to 65535 (0 picks a free port)") from None


def to_optional_port(text: str) -> int | None:
    if text.strip().lower() in FALSE_WORDS - {"0"}:
        return None
    try:
        return to_port(text)
    except ConversionError:
        raise ConversionError("a port number from 0 to 65535, or off") from None


def to_file_mode(text: str) -> int:
    """An octal permission mode such as `660` or `0o600` (no set-id or sticky bits)."""
    word = text.strip().lower().removeprefix("0o")
    if not re.fullmatch(r"[0-7]{3,4}", word) or int(word, 8) > 0o777:
        raise ConversionError("an octal file mode such as 660 or 600")
    return int(word, 8)


def to_seconds(text: str) -> float:
    """`60s`, `5m`, `1h30m`, `250ms`; a bare number is seconds."""
    word = text.strip().lower()
    try:
        value = float(word)
    except ValueError:
        value = _compound_seconds(word)
    if not 0 <= value <= MAX_DURATION_SECONDS:  # also rejects NaN and infinity
        raise ConversionError(DURATION_EXPECTED)
    return value


def _compound_seconds(word: str) -> float:
    if not word:
        raise ConversionError(DURATION_EXPECTED)
    total, pos = 0.0, 0
    while pos < len(word):
        match = _DURATION_PART.match(word, pos)
        if match is None:
            raise ConversionError(DURATION_EXPECTED)
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return total


def to_whole_unit(text: str, unit_seconds: int, unit_name: str) -> int:
    """A duration expressed as a whole number of `unit_name` (bare numbers are in that unit)."""
    expected = f"a whole number of {unit_name} (e.g. 24h), or a bare number of {unit_name}"
    word = text.strip()
    if word.isascii() and word.isdigit():
        try:
            return to_int(word, minimum=0, maximum=MAX_WHOLE)
        except ConversionError:
            raise ConversionError(expected) from None
    units = to_seconds(word) / unit_seconds
    if units != int(units) or units > MAX_WHOLE:
        raise ConversionError(expected)
    return int(units)


def to_size(text: str) -> int:
    expected = "a size such as 1048576, 512KiB, 32MiB or 1GB"
    match = _SIZE.fullmatch(text.strip())
    if match is None or len(match.group(1)) > 18:  # 10**18 bytes is already absurd for a body limit
        raise ConversionError(expected)
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def to_choice(text: str, synonyms: Mapping[str, E]) -> E:
    value = synonyms.get(text.strip().lower())
    if value is None:
        allowed = ", ".join(dict.fromkeys(v.value for v in synonyms.values()))
        raise ConversionError(f"one of: {allowed}")
    return value


def to_provider_kind(text: str) -> str:
    kind = PROVIDER_KIND_SYNONYMS.get(text.strip().lower())
    if kind is None:
        raise ConversionError("openai-compatible (aliases: openai, openai_like, litellm)")
    return kind


def to_ratio(text: str) -> float:
    """A share from 0 to 1: `0.01` or `1%`."""
    word = text.strip()
    try:
        value = float(word[:-1]) / 100 if word.endswith("%") else float(word)
    except ValueError:
        raise ConversionError("a ratio from 0 to 1 (0.01) or a percentage (1%)") from None
    if not 0.0 <= value <= 1.0:
        raise ConversionError("a ratio from 0 to 1 (0.01) or a percentage (1%)")
    return value


def to_url(text: str) -> str:
    """An absolute http(s) URL; a trailing slash is dropped, as the seed does."""
    raw = text.strip()
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConversionError("an absolute http:// or https:// URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConversionError("an absolute http:// or https:// URL")
    if parts.password is not None:
        # A credential in a URL would be shown by `config show`, logs and metrics labels.
        raise ConversionError(
            "a URL without a password in it (give the key by its -env or -file reference)", echo=False
        )
    return raw.rstrip("/")


def url_has_password(text: str) -> bool:
    try:
        return bool(urlsplit(text.strip()).password)
    except ValueError:
        return False


def to_csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def to_name(text: str) -> str:
    """Account and provider names: letters, digits, `-`, `_`, `.` (the seed's provider-name rule)."""
    if not _NAME.fullmatch(text):
        raise ConversionError("a name made of letters, digits, '-', '_' and '.'")
    return text


def to_env_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise ConversionError("an environment variable name such as MY_API_KEY")
    return text


def to_text(text: str) -> str:
    if not text.strip():
        raise ConversionError("a non-empty value")
    return text
