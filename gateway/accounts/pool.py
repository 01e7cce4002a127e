"""The account pool the forwarding loop talks to: choose an account, report what happened, release it.

The only mutable object of the package. It keeps one frozen `AccountState` per account, the
round-robin cursor and the session-affinity table, and delegates every decision to the pure modules
(`select`, `classify`, `machine`). Time comes from an injected `Clock`. Single-threaded by design
(one asyncio loop): no locks, no awaits inside.

Contract with the loop: every `choose()` is matched by exactly one `release(name)` when that attempt
is over (response fully sent, or abandoned); `report()` may be called any number of times per attempt.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from dsl.model import RoutingStrategy
from gateway.accounts import machine
from gateway.accounts.classify import (
    Verdict,
    classify_connection_failure,
    classify_credential_failure,
    classify_response,
    classify_stream_error,
)
from gateway.accounts.outcome import CREDENTIAL_UNAVAILABLE, NoAccountAvailable, UpstreamOutcome
from gateway.accounts.select import Choice, Request, Turn, charge, recovery_wait, select
from gateway.accounts.shared import EventKind, PoolEvent, adopt, cooldown_event
from gateway.accounts.state import AccountState, Clock, Policy, SystemClock
from gateway.accounts.view import account_entry, iso_time
from gateway.credentials.source import CredentialSource

MAX_AFFINITY_ENTRIES = 10_000


@dataclass(frozen=True)
class PooledAccount:
    """What `choose()` hands the loop: the account's name, credential and where to send."""

    name: str
    credential: CredentialSource
    home: str | None = None
    base_url: str | None = None
    """Overrides the upstream base URL for this account (tests point each account at its own server)."""


class AccountPool:
    def __init__(
        self,
        accounts: Sequence[PooledAccount],
        states: Sequence[AccountState],
        strategy: RoutingStrategy = RoutingStrategy.ROUND_ROBIN,
        policy: Policy | None = None,
        session_affinity: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if [a.name for a in accounts] != [s.name for s in states]:
            raise ValueError("accounts and states must name the same accounts in the same order")
        self._accounts = {a.name: a for a in accounts}
        self._states = [replace(s, index=i) for i, s in enumerate(states)]
        self._index = {s.name: i for i, s in enumerate(self._states)}
        self.strategy = strategy
        self.policy = policy or Policy()
        self.session_affinity = session_affinity
        self._clock = clock or SystemClock()
        self._turn = Turn()
        self._affinity: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.origin = ""
        self.publish: Callable[[PoolEvent], None] | None = None
        """Set by a replica sync (`redis_sync`): called with every cooldown and admin action."""

    # -- reading -----------------------------------------------------------------------------------
    @property
    def accounts(self) -> tuple[PooledAccount, ...]:
        return tuple(self._accounts[s.name] for s in self._states)

    def states(self) -> tuple[AccountState, ...]:
        now = self._clock.monotonic()
        return tuple(machine.expire(s, now) for s in self._states)

    def state(self, name: str) -> AccountState:
        return self.states()[self._position(name)]

    def snapshot(self) -> list[dict[str, Any]]:
        now, wall = self._clock.monotonic(), self._clock.wall()
        out = []
        for s in self._states:
            account = self._accounts[s.name]
            entry = account_entry(s, account.home, account.credential.is_oauth, now, wall)
            entry["refresh"].update(token_facts(account.credential))
            out.append(entry)
        return out

    def _position(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown account {name!r}") from None

    def _update(self, name: str, state: AccountState) -> None:
        self._states[self._position(name)] = state

    # -- choosing ----------------------------------------------------------------------------------
    def _bound_account(self, session_key: str | None, now: float) -> str | None:
        if not (self.session_affinity and session_key):
            return None
        entry = self._affinity.get(session_key)
        if entry is None:
            return None
        name, expires = entry
        if expires <= now:
            del self._affinity[session_key]
            return None
        return name

    def _bind(self, session_key: str | None, name: str, now: float) -> None:
        if not (self.session_affinity and session_key):
            return
        self._affinity[session_key] = (name, now + self.policy.affinity_ttl)
        self._affinity.move_to_end(session_key)
        while len(self._affinity) > MAX_AFFINITY_ENTRIES:
            self._affinity.popitem(last=False)

    def choose(
        self,
        model: str | None,
        session_key: str | None,
        pinned: str | None,
        exclude: frozenset[str],
    ) -> PooledAccount:
        """Pick an account and take one of its concurrency slots; raises `NoAccountAvailable`."""
        now = self._clock.monotonic()
        self._states = [machine.expire(s, now) for s in self._states]
        req = Request(model, pinned, frozenset(exclude), self._bound_account(session_key, now))
        result = select(self._states, req, self.strategy, now, self._turn)
        if not isinstance(result, Choice):
            raise NoAccountAvailable(result.message, result.retry_after)
        state, self._turn = charge(self._states[self._position(result.name)], self.strategy, result.turn)
        self._update(result.name, state)
        self._bind(session_key, result.name, now)
        return self._accounts[result.name]

    def replace_accounts(
        self,
        accounts: Sequence[PooledAccount],
        states: Sequence[AccountState],
        strategy: RoutingStrategy,
        policy: Policy,
        session_affinity: bool,
    ) -> None:
        """A config reload: the new account list (with carried-over states), in one step between two
        requests. Sessions bound to a removed account are unbound; its in-flight requests finish with
        the account object they hold, and their `release` is a no-op."""
        if [a.name for a in accounts] != [s.name for s in states]:
            raise ValueError("accounts and states must name the same accounts in the same order")
        self._accounts = {a.name: a for a in accounts}
        self._states = [replace(s, index=i) for i, s in enumerate(states)]
        self._index = {s.name: i for i, s in enumerate(self._states)}
        self.strategy, self.policy, self.session_affinity = strategy, policy, session_affinity
        for key in [k for k, (name, _) in self._affinity.items() if name not in self._index]:
            del self._affinity[key]

    def release(self, name: str) -> None:
        """Give back the concurrency slot taken by `choose()`."""
        if name not in self._index:  # removed by a reload while this request used it
            return
        state = self._states[self._position(name)]
        self._update(name, state.evolve(in_flight=max(0, state.in_flight - 1)))

    # -- reporting ---------------------------------------------------------------------------------
    def verdict_for(self, outcome: UpstreamOutcome) -> Verdict:
        if outcome.connection_error == CREDENTIAL_UNAVAILABLE:
            return classify_credential_failure()
        if outcome.connection_error is not None or outcome.status is None:
            return classify_connection_failure(outcome.connection_error or "no response")
        if outcome.stream_error is not None:
            return classify_stream_error(outcome.stream_error)
        return classify_response(outcome.status, outcome.headers, self._clock.wall())

    def report(self, account_name: str, outcome: UpstreamOutcome) -> Verdict:
        """Feed one observation into the state machine and return the verdict: `account_failed` means
        try another account; the caller, who holds the request's record, notes the failure there."""
        verdict = self.verdict_for(outcome)
        self.apply(account_name, verdict)
        return verdict

    def apply(self, account_name: str, verdict: Verdict) -> None:
        if account_name not in self._index:  # removed by a reload while a request used it
            return
        state = self._states[self._position(account_name)]
        now, wall = self._clock.monotonic(), self._clock.wall()
        new = machine.apply(state, verdict, now, wall, self.policy)
        self._update(account_name, new)
        if self.publish is not None and new.cooldown_until != state.cooldown_until:
            event = cooldown_event(new, now, wall, self.origin)
            if event is not None:
                self.publish(event)

    def adopt(self, event: PoolEvent) -> None:
        """Apply what another replica observed (unknown accounts are ignored: configs may differ)."""
        if event.origin == self.origin or event.account not in self._index:
            return
        state = self._states[self._position(event.account)]
        self._update(event.account, adopt(state, event, self._clock.monotonic(), self._clock.wall()))

    def _admin(self, name: str, kind: EventKind, state: AccountState) -> None:
        self._update(name, state)
        if self.publish is not None:
            self.publish(PoolEvent(kind, name, self.origin))

    def record_refresh(self, account_name: str, ok: bool) -> None:
        if account_name not in self._index:  # removed by a reload while a request used it
            return
        state = self._states[self._position(account_name)]
        self._update(account_name, machine.record_refresh(state, ok))

    # -- admin -------------------------------------------------------------------------------------
    def drain(self, name: str) -> None:
        """Stop choosing this account (requests in flight finish)."""
        self._admin(name, EventKind.DRAIN, self._states[self._position(name)].evolve(drained=True))

    def resume(self, name: str) -> None:
        self._admin(name, EventKind.RESUME, self._states[self._position(name)].evolve(drained=False))

    def reset_cooldown(self, name: str) -> None:
        self._admin(name, EventKind.RESET, machine.reset_cooldown(self._states[self._position(name)]))

    def recovery_wait(self, model: str | None, pinned: str | None) -> float | None:
        """Seconds until an account could take such a request (0: one can now; None: none ever can)."""
        return recovery_wait(self._states, Request(model, pinned), self._clock.monotonic())


def token_facts(credential: CredentialSource) -> dict[str, Any]:
    """What an OAuth credential can say about its token without showing it: expiry, refreshable, and
    how its own refresh exchanges went (the early ones before expiry too, which the pool never sees)."""
    facts = credential.refresh_facts()
    if facts is None:
        return {}
    out: dict[str, Any] = {}
    if facts.last_ok is not None:
        out = {"last_ok": facts.last_ok, "failures": facts.failures}
    if not facts.readable:
        return {**out, "token_expires_at": None, "refreshable": False}
    expires_ms = facts.expires_at_ms
    return {
        **out,
        "token_expires_at": iso_time(expires_ms / 1000) if expires_ms else None,
        "refreshable": facts.refreshable,
    }


POOL = web.AppKey("account_pool", AccountPool)
"""The app's account pool (made in its own cleanup_ctx)."""
