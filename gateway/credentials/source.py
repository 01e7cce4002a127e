"""What the exchange needs from an upstream credential: headers to send, and a refresh on 401."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RefreshFacts:
    """What an OAuth credential can say about its token without showing it."""

    last_ok: bool | None
    """How the last refresh exchange went (early ones before expiry too); None: none yet."""
    failures: int
    """Failed refresh exchanges in a row."""
    readable: bool
    """A token could be read at all."""
    expires_at_ms: int | None = None
    refreshable: bool = False


class CredentialSource(Protocol):
    """An account's credential (API key, Claude Code OAuth login, or one that is missing)."""

    @property
    def is_oauth(self) -> bool: ...

    @property
    def can_refresh(self) -> bool: ...

    async def auth_headers(self) -> dict[str, str]: ...

    def invalidate(self) -> None: ...

    async def refresh(self) -> None: ...

    def refresh_facts(self) -> RefreshFacts | None:
        """For `/v1/accounts`: None for credentials that never refresh (API keys)."""
        ...
