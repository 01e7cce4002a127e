"""Pool events shared between gateway replicas: what one replica learns, the others adopt.

Pure: the event, its JSON form, and how an event changes an `AccountState`. A replica that sees an
account rate-limited, out of quota or unhealthy publishes a `cooldown` (with the absolute wall-clock
end, since replicas do not share a monotonic clock); admin actions publish `reset`, `drain` and
`resume`. Adopting a cooldown never shortens one already running, like the local state machine.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from gateway.accounts import machine
from gateway.accounts.state import AccountState, CooldownReason


class EventKind(StrEnum):
    COOLDOWN = "cooldown"
    RESET = "reset"
    DRAIN = "drain"
    RESUME = "resume"


@dataclass(frozen=True)
class PoolEvent:
    kind: EventKind
    account: str
    origin: str = ""
    """The publishing replica, so it can ignore its own events."""
    until_wall: float | None = None
    reason: CooldownReason | None = None
    reset_at: float | None = None
    detail: str | None = None

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def decode_event(text: str | bytes) -> PoolEvent | None:
    """The event, or None for anything malformed (a bad message must not stop the listener)."""
    try:
        data: Any = json.loads(text)
        kind = EventKind(data["kind"])
        reason = CooldownReason(data["reason"]) if data.get("reason") else None
        until = data.get("until_wall")
        reset = data.get("reset_at")
        detail = data.get("detail")
        return PoolEvent(
            kind,
            str(data["account"]),
            str(data.get("origin") or ""),
            float(until) if until is not None else None,
            reason,
            float(reset) if reset is not None else None,
            str(detail) if detail is not None else None,
        )
    except (ValueError, KeyError, TypeError):
        return None


def cooldown_event(state: AccountState, now: float, wall: float, origin: str) -> PoolEvent | None:
    if state.cooldown_until is None or state.cooldown_until <= now:
        return None
    return PoolEvent(
        EventKind.COOLDOWN,
        state.name,
        origin,
        wall + (state.cooldown_until - now),
        state.cooldown_reason,
        state.reset_at,
        state.last_error,
    )


def adopt(state: AccountState, event: PoolEvent, now: float, wall: float) -> AccountState:
    if event.kind is EventKind.RESET:
        return machine.reset_cooldown(state)
    if event.kind is EventKind.DRAIN:
        return state.evolve(drained=True)
    if event.kind is EventKind.RESUME:
        return state.evolve(drained=False)
    if event.until_wall is None or event.until_wall <= wall:
        return state
    until = now + (event.until_wall - wall)
    if state.cooling(now) and state.cooldown_until is not None and state.cooldown_until >= until:
        return state
    return state.evolve(
        cooldown_until=until,
        cooldown_reason=event.reason,
        reset_at=event.reset_at,
        last_error=event.detail or state.last_error,
    )
