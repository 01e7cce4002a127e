"""Claude Code credential files: where they are and what they hold.

The seed's search order (credentials.json, .credentials.json, auth.json, oauth.json, config.json) and
both layouts: nested `claudeAiOauth` (what Claude Code writes) and flat `accessToken`-style keys.
`parse_credentials` is pure; `read_first_credentials` only reads files — this module never writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATE_FILES: tuple[str, ...] = (
    "credentials.json",
    ".credentials.json",
    "auth.json",
    "oauth.json",
    "config.json",
)
NESTED_KEYS: tuple[str, ...] = ("claudeAiOauth", "claude_ai_oauth")
ACCESS_KEYS: tuple[str, ...] = ("accessToken", "access_token", "oauthToken", "oauth_token")
REFRESH_KEYS: tuple[str, ...] = ("refreshToken", "refresh_token")
EXPIRY_KEYS: tuple[str, ...] = ("expiresAt", "expires_at", "expiryDate")


@dataclass(frozen=True)
class OAuthTokens:
    """An access token with what we know about refreshing it. Never printed: repr hides values."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at_ms: int | None = None

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token)


@dataclass(frozen=True)
class FileSignature:
    """Enough to notice that a file changed on disk without reading it."""

    path: str
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class FoundCredentials:
    path: Path
    signature: FileSignature
    tokens: OAuthTokens


def _first_string(block: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = block.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _expiry(block: dict[str, Any]) -> int | None:
    for key in EXPIRY_KEYS:
        value = block.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    return None


def parse_credentials(data: Any) -> OAuthTokens | None:
    """Tokens from one parsed credential file, nested layout first, then flat; None if no token."""
    if not isinstance(data, dict):
        return None
    for nested_key in NESTED_KEYS:
        nested = data.get(nested_key)
        if isinstance(nested, dict):
            access = _first_string(nested, ACCESS_KEYS)
            if access:
                return OAuthTokens(access, _first_string(nested, REFRESH_KEYS), _expiry(nested))
    access = _first_string(data, ACCESS_KEYS)
    if access:
        return OAuthTokens(access, _first_string(data, REFRESH_KEYS), _expiry(data))
    return None


def signature_of(path: Path) -> FileSignature | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return FileSignature(str(path), st.st_mtime_ns, st.st_size)


def read_first_credentials(home: Path) -> FoundCredentials | None:
    """The first candidate file in `home` that holds a token.

    Unlike the seed, a candidate that is not valid JSON is skipped rather than aborting the search
    (a stray non-JSON config.json must not hide a valid .credentials.json).
    """
    for name in CANDIDATE_FILES:
        path = home / name
        signature = signature_of(path)
        if signature is None:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        tokens = parse_credentials(data)
        if tokens is not None:
            return FoundCredentials(path, signature, tokens)
    return None


def first_existing_candidate(home: Path) -> Path | None:
    """For `doctor`: the first candidate file that exists at all."""
    for name in CANDIDATE_FILES:
        if (home / name).is_file():
            return home / name
    return None
