"""A plain Anthropic API-key account: sent upstream as `x-api-key`, no OAuth beta, no identity block."""

from __future__ import annotations

from gateway.credentials.source import RefreshFacts


class ApiKeyCredential:
    is_oauth = False
    can_refresh = False

    def __init__(self, name: str, api_key: str) -> None:
        self.name = name
        self._headers = {"x-api-key": api_key}

    def __repr__(self) -> str:
        return f"ApiKeyCredential(name={self.name!r})"

    async def auth_headers(self) -> dict[str, str]:
        return self._headers

    def invalidate(self) -> None:
        return None

    async def refresh(self) -> None:
        return None

    def refresh_facts(self) -> RefreshFacts | None:
        return None
