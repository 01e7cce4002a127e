"""A Claude Code OAuth account: read from its credential dir, refreshed before expiry.

- The user's Claude Code files are only read; a rotated token pair is kept in our own state file
  (`<data_dir>/oauth/<account>.json`, mode 0600) and wins over the user's file until that file changes
  to something newer (e.g. the user logged in again).
- A changed credential file (mtime/size) is re-read, checked at most once a second.
- Refresh is single-flight per account: concurrent callers wait for one exchange and reuse its result.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from gateway.credentials.files import (
    FileSignature,
    FoundCredentials,
    OAuthTokens,
    read_first_credentials,
    signature_of,
)
from gateway.credentials.refresh import RefreshError, exchange_refresh_token
from gateway.credentials.source import RefreshFacts

log = logging.getLogger(__name__)

REFRESH_SKEW_MS = 300_000
RECHECK_SECONDS = 1.0
# A 401 right after we rotated the token is not cured by rotating again.
RECENT_ROTATION_SECONDS = 10.0
# After a failed refresh (and no retry-after), wait this long before asking the token endpoint again.
REFRESH_PAUSE_SECONDS = 30.0


class CredentialUnavailable(Exception):
    """The account has no usable credential right now (missing file, dead refresh token...)."""


def _wall_ms() -> int:
    return int(time.time() * 1000)


class OAuthFileCredential:
    is_oauth = True

    def __init__(
        self,
        name: str,
        home: Path,
        state_path: Path,
        token_url: str,
        session: Callable[[], aiohttp.ClientSession],
        now_ms: Callable[[], int] = _wall_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.home = home
        self._state_path = state_path
        self._token_url = token_url
        self._session = session
        self._now_ms = now_ms
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._tokens: OAuthTokens | None = None
        self._headers: dict[str, str] = {}
        self._found: FoundCredentials | None = None
        self._checked_at = float("-inf")
        self._rotated_at = float("-inf")
        self._stale = False
        self._refresh_paused_until = float("-inf")
        self.refresh_failures = 0
        """Failed refresh exchanges in a row (early ones and those after a 401), for /v1/accounts."""
        self.last_refresh_ok: bool | None = None

    # -- reading -------------------------------------------------------------------------------
    def _load_state(self) -> tuple[OAuthTokens, FileSignature | None] | None:
        try:
            data = json.loads(self._state_path.read_text(encoding="utf-8"))
            tokens = OAuthTokens(data["access_token"], data.get("refresh_token"), data.get("expires_at_ms"))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        source = data.get("source")
        sig = FileSignature(**source) if isinstance(source, dict) else None
        return tokens, sig

    def _write_state(self, tokens: OAuthTokens) -> None:
        source = self._found.signature if self._found else None
        payload = {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at_ms": tokens.expires_at_ms,
            "source": source.__dict__ if source else None,
        }
        self._state_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self._state_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._state_path)

    def _reload(self) -> None:
        """Re-read the credential file if it changed, and pick between it and our rotated pair."""
        self._checked_at = self._monotonic()
        unchanged = self._found is not None and signature_of(self._found.path) == self._found.signature
        if unchanged and self._tokens is not None:
            return
        found = read_first_credentials(self.home)
        self._found = found
        state = self._load_state()
        chosen: OAuthTokens | None = found.tokens if found else None
        # No credential file (the user logged out, the dir is gone): the account is gone too, even
        # if we still hold a rotated pair for it.
        if state is not None and found is not None:
            state_tokens, state_source = state
            if state_source == found.signature or _later(state_tokens, found.tokens):
                chosen = state_tokens
        if chosen is not None and (self._tokens is None or chosen.access_token != self._tokens.access_token):
            log.info("account %s: credential loaded", self.name)
        self._set(chosen)

    def _set(self, tokens: OAuthTokens | None) -> None:
        self._tokens = tokens
        self._headers = {"authorization": f"Bearer {tokens.access_token}"} if tokens else {}

    def refresh_facts(self) -> RefreshFacts:
        try:
            tokens = self.current()
        except (OSError, ValueError):
            tokens = None
        if tokens is None:
            return RefreshFacts(self.last_refresh_ok, self.refresh_failures, readable=False)
        return RefreshFacts(
            self.last_refresh_ok, self.refresh_failures, True, tokens.expires_at_ms, tokens.can_refresh
        )

    def current(self) -> OAuthTokens | None:
        if self._tokens is None or self._monotonic() - self._checked_at >= RECHECK_SECONDS:
            self._reload()
        return self._tokens

    @property
    def can_refresh(self) -> bool:
        tokens = self.current()
        return tokens is not None and tokens.can_refresh

    def _needs_refresh(self, tokens: OAuthTokens) -> bool:
        if not tokens.can_refresh:
            return False
        if self._stale:
            return True
        if tokens.expires_at_ms is None:
            return False
        left = tokens.expires_at_ms - self._now_ms()
        # After a failed early refresh, keep using the still-valid token until the pause is over.
        if left > 0 and self._monotonic() < self._refresh_paused_until:
            return False
        return left <= REFRESH_SKEW_MS

    # -- the seam the proxy uses ---------------------------------------------------------------
    async def auth_headers(self) -> dict[str, str]:
        tokens = self.current()
        if tokens is None:
            raise CredentialUnavailable(f"account {self.name}: no Claude Code credentials in {self.home}")
        if self._needs_refresh(tokens):
            await self._refresh(tokens)
        return self._headers

    def invalidate(self) -> None:
        """The upstream refused the token: refresh (or re-read) before the next use."""
        self._stale = True
        self._checked_at = float("-inf")

    async def refresh(self) -> None:
        tokens = self.current()
        if tokens is None:
            raise CredentialUnavailable(f"account {self.name}: no Claude Code credentials in {self.home}")
        self._stale = True
        await self._refresh(tokens)

    async def _refresh(self, seen: OAuthTokens) -> None:
        async with self._lock:
            current = self._tokens
            if current is not None and current.access_token != seen.access_token:
                return  # another caller refreshed while we waited
            self._checked_at = float("-inf")
            self._reload()  # an outside `claude` process may have rotated the file already
            current = self._tokens
            if current is None:
                raise CredentialUnavailable(f"account {self.name}: credentials disappeared")
            if current.access_token != seen.access_token and not _expiring(current, self._now_ms()):
                self._stale = False
                return
            if not current.can_refresh or self._monotonic() - self._rotated_at < RECENT_ROTATION_SECONDS:
                self._stale = False
                return
            try:
                new = await exchange_refresh_token(self._session(), self._token_url, current, self._now_ms())
            except RefreshError as exc:
                log.warning("account %s: OAuth refresh failed: %s", self.name, exc)
                self.last_refresh_ok, self.refresh_failures = False, self.refresh_failures + 1
                self._stale = False
                self._refresh_paused_until = self._monotonic() + (exc.retry_after or REFRESH_PAUSE_SECONDS)
                expired = current.expires_at_ms is not None and current.expires_at_ms <= self._now_ms()
                if exc.terminal or expired:
                    raise CredentialUnavailable(f"account {self.name}: OAuth refresh failed") from exc
                return
            # Persist before use: the old refresh token is single-use and now dead.
            try:
                self._write_state(new)
            except OSError as exc:
                log.warning("account %s: could not store the rotated token pair: %s", self.name, exc)
            self._set(new)
            self._stale = False
            self._rotated_at = self._monotonic()
            self.last_refresh_ok, self.refresh_failures = True, 0
            log.info("account %s: OAuth access token refreshed", self.name)


def _later(a: OAuthTokens, b: OAuthTokens) -> bool:
    return (a.expires_at_ms or 0) > (b.expires_at_ms or 0)


def _expiring(tokens: OAuthTokens, now_ms: int) -> bool:
    return tokens.expires_at_ms is not None and tokens.expires_at_ms - now_ms <= REFRESH_SKEW_MS
