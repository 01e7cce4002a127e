"""`providers import` formats, detected as the seed does. Pure: text in, upsert inputs out.

1. `{…}` — an object with a `providers` array, or one provider object;
2. `[…]` — an array of provider objects;
3. lines starting `PROVIDER: ` — another router's providers.lenv (encrypted keys kept verbatim, so
   they only decrypt with the same TOKEN_SECRET);
4. otherwise the indented Links form: an unindented line names a provider, indented lines are
   `key value` (value optionally double-quoted). `#` comments and blank lines are skipped.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import GatewayError, bad_request
from gateway.providers.records import ProviderInput, provider_input

STORE_PREFIX = "PROVIDER: "

LINKS_KEYS: dict[str, str] = {
    "kind": "kind",
    "base_url": "base_url",
    "base-url": "base_url",
    "api_base": "base_url",
    "api-base": "base_url",
    "model": "default_model",
    "default_model": "default_model",
    "default-model": "default_model",
    "models": "models",
    "api_key": "api_key",
    "api-key": "api_key",
    "api_key_env": "api_key_env",
    "api-key-env": "api_key_env",
    "enabled": "enabled",
}


def parse_import(text: str) -> list[ProviderInput]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise bad_request(f"import file is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("providers"), list):
            data = data["providers"]
        items = data if isinstance(data, list) else [data]
        result = [provider_input(item) for item in items]
    elif any(line.startswith(STORE_PREFIX) for line in text.splitlines()):
        result = parse_store_lines(text)
    else:
        result = parse_links(text)
    if not result:
        raise bad_request("import file contains no providers")
    return result


def parse_store_lines(text: str) -> list[ProviderInput]:
    """Records from providers.lenv text; a damaged line names its line number."""
    result = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith(STORE_PREFIX):
            continue
        try:
            result.append(provider_input(json.loads(line[len(STORE_PREFIX) :])))
        except (ValueError, GatewayError) as exc:
            reason = exc.message if isinstance(exc, GatewayError) else "not valid JSON"
            raise bad_request(f"line {number}: {reason}") from exc
    return result


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_links(text: str) -> list[ProviderInput]:
    entries: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            entries.append({"name": unquote(line.rstrip(":"))})
            continue
        if not entries:
            raise bad_request(f"line {number}: an indented setting comes before any provider name")
        key, _, value = line.strip().partition(" ")
        field = LINKS_KEYS.get(key)
        if field is None:
            raise bad_request(f"line {number}: unknown provider setting {key!r}")
        entries[-1][field] = unquote(value)
    result = []
    for entry in entries:
        try:
            result.append(provider_input(entry))
        except GatewayError as exc:
            raise bad_request(f"provider {entry.get('name')!r}: {exc.message}") from exc
    return result
