"""The state of one upstream account as the pool sees it, and the clock the pool reads.

Pure data: a frozen `AccountState` per account (its static limits from the config plus its dynamic
counters and cooldown), and the `Clock` protocol so that tests drive time by hand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; cooldowns are measured on it."""
        ...

    def wall(self) -> float:
        """Unix seconds; used only to convert the upstream's absolute reset times."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class CooldownReason(StrEnum):
    RATE_LIMIT = "rate_limit"
    QUOTA_5H = "quota_5h"
    QUOTA_WEEKLY = "quota_weekly"
    OVERLOADED = "overloaded"
    UPSTREAM_ERROR = "upstream_error"
    CONNECTION = "connection"
    AUTH = "auth"
    CREDENTIAL = "credential"


QUOTA_REASONS = frozenset({CooldownReason.QUOTA_5H, CooldownReason.QUOTA_WEEKLY})


class Health(StrEnum):
    """What `/v1/accounts` shows as `state`."""

    HEALTHY = "healthy"
    BUSY = "busy"
    COOLING_DOWN = "cooling_down"
    QUOTA_EXHAUSTED = "quota_exhausted"
    UNHEALTHY = "unhealthy"
    DRAINED = "drained"


@dataclass(frozen=True)
class Policy:
    """Cooldown lengths (seconds). `cooldown` is the default for a 429 without retry-after."""

    cooldown: float = 60.0
    transient_base: float = 1.0
    auth_cooldown: float = 300.0
    outlier_consecutive: int = 5
    """Consecutive 5xx / connection failures (timeouts, cut connections) before an account cools:
    outlier detection as Envoy does it, so one request that crashes the upstream cannot park the
    only account. 429, quota, 529 and auth failures are the upstream's own word and cool at once."""
    affinity_ttl: float = 3600.0


@dataclass(frozen=True)
class AccountState:
    name: str
    index: int = 0
    priority: int = 0
    weight: int = 1
    models: tuple[str, ...] = ()
    max_concurrent: int | None = None
    used: int = 0
    in_flight: int = 0
    vtime: float = 0.0
    """Virtual finish time for the fair strategies (least-used, weighted); see `select.charge`."""
    failures: int = 0
    """Consecutive transient failures (529/5xx/connection): each doubles the next backoff."""
    cooldown_until: float | None = None
    """Monotonic time until which the account is not chosen; None = no cooldown."""
    cooldown_reason: CooldownReason | None = None
    reset_at: float | None = None
    """Unix seconds of the quota window reset, when the upstream reported one."""
    last_error: str | None = None
    drained: bool = False
    refresh_failures: int = 0
    last_refresh_ok: bool | None = None

    def evolve(self, **changes: Any) -> AccountState:
        """`dataclasses.replace` without its per-field cost: this runs several times per request."""
        new = object.__new__(AccountState)
        new.__dict__.update(self.__dict__, **changes)
        return new

    def cooling(self, now: float) -> bool:
        return self.cooldown_until is not None and self.cooldown_until > now

    def remaining(self, now: float) -> float | None:
        return self.cooldown_until - now if self.cooling(now) and self.cooldown_until is not None else None

    def at_capacity(self) -> bool:
        return self.max_concurrent is not None and self.in_flight >= self.max_concurrent

    def health(self, now: float) -> Health:
        if self.drained:
            return Health.DRAINED
        if self.cooling(now):
            if self.cooldown_reason in QUOTA_REASONS:
                return Health.QUOTA_EXHAUSTED
            if self.cooldown_reason in (CooldownReason.AUTH, CooldownReason.CREDENTIAL):
                return Health.UNHEALTHY
            return Health.COOLING_DOWN
        if self.at_capacity():
            return Health.BUSY
        return Health.HEALTHY
