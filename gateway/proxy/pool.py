"""The account-pool seam of the forwarding loop, and the simplest pool that fills it.

The loop asks `choose(...)` for an account, sends, and tells the pool what happened with
`report(name, outcome)`. `SimplePool` is plain round-robin over the configured accounts with no
error state; the accounts package (`gateway.accounts`) supplies the real selection strategies and
cooldown state machine behind the same Protocol. Pure: no aiohttp here.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class CredentialSource(Protocol):
    """What the loop needs from a credential (see `gateway.credentials`)."""

    @property
    def is_oauth(self) -> bool: ...

    @property
    def can_refresh(self) -> bool: ...

    async def auth_headers(self) -> dict[str, str]: ...

    def invalidate(self) -> None: ...

    async def refresh(self) -> None: ...


class Account(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def credential(self) -> CredentialSource: ...


@dataclass(frozen=True)
class UpstreamOutcome:
    """What one upstream attempt observed; the pool classifies it (cooldown, quota, auth...)."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    connection_error: str | None = None
    stream_error: str | None = None
    """`error.type` of an error event in the opening frames of a 200 stream (e.g. overloaded_error)."""


CREDENTIAL_UNAVAILABLE = "credential unavailable"
"""`connection_error` value for an account whose credential could not be read or refreshed."""

# Statuses SimplePool treats as the account's failure (the accounts package classifies properly).
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504, 529})


class NoAccountAvailable(Exception):
    """No account can take this request now; `retry_after` seconds until one might."""

    def __init__(self, message: str = "no upstream account available", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class AccountPool(Protocol):
    def choose(
        self,
        model: str | None,
        session_key: str | None,
        pinned: str | None,
        exclude: frozenset[str],
    ) -> Account: ...

    def report(self, account_name: str, outcome: UpstreamOutcome) -> bool:
        """Record what happened; True when it was this account's failure (another one may succeed)."""
        ...

    def release(self, account_name: str) -> None:
        """Give back the slot `choose` took; called exactly once per `choose`."""
        ...

    def record_refresh(self, account_name: str, ok: bool) -> None: ...

    def recovery_wait(self, model: str | None, pinned: str | None) -> float | None:
        """Seconds until an account could take such a request (0: one can now; None: none ever can)."""
        ...

    def snapshot(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class PoolAccount:
    name: str
    credential: CredentialSource
    home: str | None = None


class SimplePool:
    """Round-robin over the configured accounts; no cooldowns (the accounts package adds them)."""

    def __init__(self, accounts: Sequence[PoolAccount]) -> None:
        self._accounts = tuple(accounts)
        self._next = itertools.count()
        self._used: dict[str, int] = {a.name: 0 for a in self._accounts}

    @property
    def accounts(self) -> tuple[PoolAccount, ...]:
        return self._accounts

    def choose(
        self,
        model: str | None,
        session_key: str | None,
        pinned: str | None,
        exclude: frozenset[str],
    ) -> PoolAccount:
        candidates = [a for a in self._accounts if a.name not in exclude]
        if pinned is not None:
            candidates = [a for a in candidates if a.name == pinned]
        if not candidates:
            raise NoAccountAvailable()
        chosen = candidates[next(self._next) % len(candidates)]
        self._used[chosen.name] += 1
        return chosen

    def report(self, account_name: str, outcome: UpstreamOutcome) -> bool:
        return (
            outcome.status is None
            or outcome.stream_error is not None
            or outcome.status in RETRYABLE
            or outcome.status == 401
        )

    def release(self, account_name: str) -> None:
        return None

    def record_refresh(self, account_name: str, ok: bool) -> None:
        return None

    def recovery_wait(self, model: str | None, pinned: str | None) -> float | None:
        return 0.0

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {
                "name": a.name,
                "home": a.home,
                "healthy": True,
                "used": self._used[a.name],
                "last_error": None,
                "cooldown_remaining_seconds": None,
            }
            for a in self._accounts
        ]
