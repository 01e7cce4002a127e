"""Choosing an account for one request: strategies, session affinity, pinning, concurrency limits.

Pure: account states, the request and the time in; a `Choice` (with the next round-robin cursor)
or a `NoChoice` (with the earliest time any candidate recovers) out. An account is eligible when it
is not drained, not in cooldown, below its concurrency limit, allowed to serve the model, matches the
token's pin, and was not already tried for this request.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from dsl.model import RoutingStrategy
from gateway.accounts.state import AccountState, CooldownReason

# When only concurrency limits block, nobody knows when a slot frees up: suggest a short wait.
BUSY_RETRY_SECONDS = 1.0
NO_HEALTHY = "no healthy accounts available"
# Why accounts are out, in the client's error (counts only: account names are operator information).
_WHY = {
    CooldownReason.RATE_LIMIT: "rate limited",
    CooldownReason.QUOTA_5H: "out of 5-hour quota",
    CooldownReason.QUOTA_WEEKLY: "out of weekly quota",
    CooldownReason.OVERLOADED: "overloaded",
    CooldownReason.UPSTREAM_ERROR: "failing upstream",
    CooldownReason.CONNECTION: "unreachable",
    CooldownReason.AUTH: "refused by the upstream",
    CooldownReason.CREDENTIAL: "without a usable credential",
}


@dataclass(frozen=True)
class Request:
    model: str | None = None
    pinned: str | None = None
    exclude: frozenset[str] = frozenset()
    affinity: str | None = None
    """The account this conversation was last served by (looked up by the pool), if any."""


@dataclass(frozen=True)
class Turn:
    """The strategies' shared position: the round-robin cursor and the fair-queueing virtual clock."""

    cursor: int = 0
    vclock: float = 0.0


@dataclass(frozen=True)
class Choice:
    name: str
    turn: Turn
    by_affinity: bool = False


@dataclass(frozen=True)
class NoChoice:
    message: str
    retry_after: float | None
    """Seconds until the earliest candidate recovers; None when waiting cannot help."""


def model_allowed(patterns: Sequence[str], model: str | None) -> bool:
    """Empty = every model; otherwise exact names or shell-style patterns (`claude-sonnet-*`)."""
    if not patterns or model is None:
        return True
    return any(fnmatchcase(model, p) for p in patterns)


def _candidates(states: Sequence[AccountState], req: Request) -> list[AccountState]:
    """Accounts that could ever serve this request (ignoring cooldowns, load and this request's tries)."""
    return [
        s
        for s in states
        if not s.drained
        and (req.pinned is None or s.name == req.pinned)
        and model_allowed(s.models, req.model)
    ]


def is_eligible(state: AccountState, req: Request, now: float) -> bool:
    return (
        not state.drained
        and (req.pinned is None or state.name == req.pinned)
        and model_allowed(state.models, req.model)
        and state.name not in req.exclude
        and not state.cooling(now)
        and not state.at_capacity()
    )


def _share(s: AccountState, vclock: float) -> float:
    """Fair-queueing start tag: an account that was away (cooldown, drained) gets no credit for it,
    so when it comes back it takes its fair share rather than all the traffic until it "catches up"."""
    return max(s.vtime, vclock)


def _order(strategy: RoutingStrategy, vclock: float) -> Callable[[AccountState], tuple[float, ...]]:
    if strategy is RoutingStrategy.PRIORITY:
        return lambda s: (-s.priority, s.index)
    if strategy is RoutingStrategy.LEAST_USED:
        return lambda s: (s.in_flight, _share(s, vclock), s.index)
    return lambda s: (_share(s, vclock) if s.weight > 0 else math.inf, -s.weight, s.index)


def select(
    states: Sequence[AccountState],
    req: Request,
    strategy: RoutingStrategy,
    now: float,
    turn: Turn,
) -> Choice | NoChoice:
    eligible = [s for s in states if is_eligible(s, req, now)]
    if not eligible:
        return _nothing(states, req, now)
    if req.affinity is not None:
        for s in eligible:
            if s.name == req.affinity:
                return Choice(s.name, turn, by_affinity=True)
    if strategy is RoutingStrategy.ROUND_ROBIN:
        n = len(states)
        start = turn.cursor % n if n else 0
        rotated = sorted(eligible, key=lambda s: (s.index - start) % n)
        return Choice(rotated[0].name, Turn(turn.cursor + 1, turn.vclock))
    return Choice(min(eligible, key=_order(strategy, turn.vclock)).name, turn)


def charge(state: AccountState, strategy: RoutingStrategy, turn: Turn) -> tuple[AccountState, Turn]:
    """Account for one request served by `state`: its use count and its virtual finish time."""
    start = _share(state, turn.vclock)
    cost = 1.0 / state.weight if strategy is RoutingStrategy.WEIGHTED and state.weight > 0 else 1.0
    charged = state.evolve(used=state.used + 1, in_flight=state.in_flight + 1, vtime=start + cost)
    return charged, Turn(turn.cursor, start)


def _nothing(states: Sequence[AccountState], req: Request, now: float) -> NoChoice:
    candidates = _candidates(states, req)
    if not candidates:
        return NoChoice(_never(states, req), None)
    waits: list[float] = []
    why: Counter[str] = Counter()
    for s in candidates:
        remaining = s.remaining(now)
        if remaining is not None:
            waits.append(remaining)
            why[_WHY.get(s.cooldown_reason, "cooling down") if s.cooldown_reason else "cooling down"] += 1
        elif s.at_capacity() or s.name in req.exclude:
            waits.append(BUSY_RETRY_SECONDS)
            why["at their concurrency limit" if s.at_capacity() else "failing"] += 1
    retry = max(1.0, math.ceil(min(waits))) if waits else BUSY_RETRY_SECONDS
    summary = ", ".join(f"{count} {reason}" for reason, count in why.most_common())
    return NoChoice(f"no healthy accounts available ({summary})" if summary else NO_HEALTHY, retry)


def _never(states: Sequence[AccountState], req: Request) -> str:
    """Why no account can ever take this request (until the config or an admin changes something)."""
    pin = f"the account {req.pinned!r} this key is pinned to"
    named = [s for s in states if req.pinned is None or s.name == req.pinned]
    if not named:
        return f"{pin} is not configured" if req.pinned is not None else "no upstream accounts are configured"
    if any(model_allowed(s.models, req.model) for s in named):  # allowed, so drained
        return f"{pin} is drained" if req.pinned is not None else "every account that may serve it is drained"
    if req.pinned is not None:
        return f"{pin} cannot serve model {req.model!r}"
    return f"no account is allowed to serve model {req.model!r}"


def recovery_wait(states: Sequence[AccountState], req: Request, now: float) -> float | None:
    """Seconds until some account could take this request (0 if one can now, None if none ever can)."""
    open_req = Request(req.model, req.pinned)
    if any(is_eligible(s, open_req, now) for s in states):
        return 0.0
    return _nothing(states, open_req, now).retry_after
