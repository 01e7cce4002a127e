"""What the exchange needs from an upstream credential: headers to send, and a refresh on 401."""

from __future__ import annotations

from typing import Protocol


class CredentialSource(Protocol):
    """An account's credential (API key, Claude Code OAuth login, or one that is missing)."""

    @property
    def is_oauth(self) -> bool: ...

    @property
    def can_refresh(self) -> bool: ...

    async def auth_headers(self) -> dict[str, str]: ...

    def invalidate(self) -> None: ...

    async def refresh(self) -> None: ...
