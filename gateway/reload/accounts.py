"""Carry account state across a reload (pure: lists in, lists out; never touches a pool).

An account whose credential did not change keeps its credential object (a refreshed OAuth token, its
refresh lock) and its dynamic state (cooldown, failures, in-flight count, usage, drained flag); only its
static limits (priority, weight, models, max-concurrent) come from the new config. An account whose
credential changed, or a new one, starts fresh; a removed one is dropped (requests already using it
finish with the object they hold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dsl.model import RouterConfig
from gateway.accounts.pool import PooledAccount
from gateway.accounts.state import AccountState
from gateway.credentials.build import account_specs

STATIC_FIELDS = ("priority", "weight", "models", "max_concurrent")


def unchanged_credentials(old: RouterConfig, new: RouterConfig, environ: Mapping[str, str]) -> frozenset[str]:
    """Names of the accounts whose credential source and upstream are the same in both configs."""
    before = {s.name: s for s in account_specs(old, environ)}
    old_urls = {a.name: a.base_url for a in old.accounts}
    new_urls = {a.name: a.base_url for a in new.accounts}
    same_upstream = old.upstream.base_url == new.upstream.base_url
    return frozenset(
        spec.name
        for spec in account_specs(new, environ)
        if before.get(spec.name) == spec
        and old_urls.get(spec.name) == new_urls.get(spec.name)
        and same_upstream
    )


def carry_over(
    old_accounts: Sequence[PooledAccount],
    old_states: Sequence[AccountState],
    new_accounts: Sequence[PooledAccount],
    new_states: Sequence[AccountState],
    unchanged: frozenset[str],
) -> tuple[list[PooledAccount], list[AccountState]]:
    """The accounts and states of the reloaded pool, in the new config's order."""
    kept_accounts = {a.name: a for a in old_accounts if a.name in unchanged}
    kept_states = {s.name: s for s in old_states if s.name in unchanged}
    accounts: list[PooledAccount] = []
    states: list[AccountState] = []
    for account, state in zip(new_accounts, new_states, strict=True):
        old_state = kept_states.get(account.name)
        if account.name in kept_accounts and old_state is not None:
            accounts.append(kept_accounts[account.name])
            states.append(old_state.evolve(**{f: getattr(state, f) for f in STATIC_FIELDS}))
        else:
            accounts.append(account)
            states.append(state)
    return accounts, states
