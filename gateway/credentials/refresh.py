"""The Claude OAuth refresh exchange: request shape, response parsing, one POST.

`refresh_request_body` and `parse_refresh_response` are pure; `exchange_refresh_token` does the single
HTTP call. Errors never carry a token: only the status and the OAuth `error` code.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from gateway.credentials.files import OAuthTokens

CLAUDE_CODE_CLIENT_ID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
# Anthropic attests the client; a bare library UA is a known cause of refused refreshes.
REFRESH_HEADERS: dict[str, str] = {
    "content-type": "application/json",
    "accept": "application/json",
    "anthropic-beta": "oauth-2025-04-20",
    "user-agent": "anthropic-sdk-typescript/0.94.0 userOAuthProvider",
}
TERMINAL_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"}
)


class RefreshError(Exception):
    """A refresh failed. `terminal` means the refresh token is dead: retrying will not help."""

    def __init__(self, message: str, terminal: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.terminal = terminal
        self.retry_after = retry_after


def refresh_request_body(refresh_token: str) -> bytes:
    return json.dumps(
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLAUDE_CODE_CLIENT_ID}
    ).encode()


def _oauth_error_code(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, str):
        return error
    if isinstance(error, dict) and isinstance(error.get("type"), str):
        return str(error["type"])
    return None


def parse_refresh_response(
    status: int, body: bytes, old: OAuthTokens, now_ms: int, retry_after: float | None = None
) -> OAuthTokens:
    """The new token pair, or `RefreshError` saying whether the failure is terminal."""
    try:
        data: Any = json.loads(body) if body else None
    except ValueError:
        data = None
    if 200 <= status < 300:
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise RefreshError(f"token endpoint answered {status} without an access_token", terminal=False)
        expires_in = data.get("expires_in")
        expires_at = now_ms + int(expires_in) * 1000 if isinstance(expires_in, int | float) else None
        new_refresh = data.get("refresh_token")
        # Refresh tokens rotate; when none comes back the old one stays valid.
        return OAuthTokens(
            access_token=data["access_token"],
            refresh_token=new_refresh if isinstance(new_refresh, str) and new_refresh else old.refresh_token,
            expires_at_ms=expires_at,
        )
    code = _oauth_error_code(data)
    terminal = status in (400, 401, 403) and code in TERMINAL_ERRORS
    detail = f" ({code})" if code else ""
    raise RefreshError(
        f"token endpoint answered {status}{detail}", terminal=terminal, retry_after=retry_after
    )


async def exchange_refresh_token(
    session: aiohttp.ClientSession, url: str, old: OAuthTokens, now_ms: int, timeout: float = 30.0
) -> OAuthTokens:
    if not old.refresh_token:
        raise RefreshError("credential has no refresh token", terminal=True)
    try:
        async with session.post(
            url,
            data=refresh_request_body(old.refresh_token),
            headers=REFRESH_HEADERS,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            body = await response.read()
            retry_after = _retry_after(response.headers.get("retry-after"))
            return parse_refresh_response(response.status, body, old, now_ms, retry_after)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RefreshError(f"token endpoint unreachable: {type(exc).__name__}", terminal=False) from exc


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
