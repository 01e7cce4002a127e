"""The account-pool seam of the forwarding loop: the Protocols the loop codes against.

The loop asks `choose(...)` for an account, sends, tells the pool what happened with
`report(name, outcome)` and gives the slot back with `release(name)`. The accounts package
(`gateway.accounts`) implements the pool (strategies, cooldowns, quotas). Pure: no aiohttp here.
"""

from __future__ import annotations

from collections.abc import Mapping
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
