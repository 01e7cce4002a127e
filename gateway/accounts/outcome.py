"""What the exchange tells the account pool about an attempt, and what the pool can refuse. Pure.

The exchange asks `AccountPool.choose(...)` for an account, sends, tells the pool what happened
with `report(name, outcome)` (which returns the verdict: the exchange notes failures on the
request's record) and gives the slot back with `release(name)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
