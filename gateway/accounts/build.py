"""Build the account pool from the typed config: who the accounts are and how each may be used.

Credential sources come from `gateway.credentials.build` (explicit `accounts:` in the config, else
the seed's `primary` + `account-1`, ... from ADDITIONAL_ACCOUNT_DIRS); this module adds each account's
priority, weight, allowed models, concurrency limit and base-URL override, and the routing policy.
Reads no credential file: sources read lazily on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from dsl.model import AccountConfig, RouterConfig, RoutingConfig
from gateway.accounts.classify import classify_credential_failure
from gateway.accounts.pool import AccountPool, PooledAccount
from gateway.accounts.state import AccountState, Clock, Policy, SystemClock
from gateway.credentials.build import account_specs, build_credentials
from gateway.credentials.oauth import CredentialUnavailable
from gateway.credentials.source import RefreshFacts

# A 401 that survived a refresh parks the account this long (or the cooldown, if longer) before
# it is tried again: long enough not to hammer a dead credential, short enough to notice a re-login.
AUTH_COOLDOWN_SECONDS = 300.0


def policy_of(routing: RoutingConfig) -> Policy:
    cooldown = max(0.0, routing.cooldown_seconds)
    return Policy(
        cooldown=cooldown,
        auth_cooldown=max(cooldown, AUTH_COOLDOWN_SECONDS),
        outlier_consecutive=routing.outlier_consecutive,
    )


def initial_state(name: str, spec: AccountConfig | None) -> AccountState:
    if spec is None:
        return AccountState(name)
    return AccountState(
        name,
        priority=spec.priority,
        weight=spec.weight,
        models=tuple(spec.models),
        max_concurrent=spec.max_concurrent if spec.max_concurrent and spec.max_concurrent > 0 else None,
    )


class MissingCredential:
    """An account the config declares whose key is not available (unset variable, unreadable file).

    It stays in the pool so operators see it in `/v1/accounts` and `accounts list`; using it fails
    at once with `CredentialUnavailable` (no network), which parks it like an unreadable OAuth home.
    """

    is_oauth = False
    can_refresh = False

    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where

    async def auth_headers(self) -> dict[str, str]:
        raise CredentialUnavailable(f"account {self.name}: no API key in {self.where}")

    def invalidate(self) -> None:
        return None

    async def refresh(self) -> None:
        return None

    def refresh_facts(self) -> RefreshFacts | None:
        return None


def build_account_pool(
    config: RouterConfig,
    environ: Mapping[str, str],
    data_dir: Path,
    session: Callable[[], aiohttp.ClientSession],
    clock: Clock | None = None,
) -> AccountPool:
    specs = {a.name: a for a in config.accounts}
    built = build_credentials(config, environ, data_dir, session, (clock or SystemClock()).monotonic)
    accounts: list[PooledAccount] = []
    states: list[AccountState] = []
    for declared in account_specs(config, environ):
        spec = specs.get(declared.name)
        found = built.get(declared.name)
        base_url = spec.base_url if spec is not None else None
        if found is not None:
            home = str(declared.oauth_home) if declared.oauth_home and declared.api_key is None else None
            accounts.append(PooledAccount(declared.name, found, home, base_url))
        elif declared.api_key is not None:
            missing = MissingCredential(declared.name, declared.api_key.describe())
            accounts.append(PooledAccount(declared.name, missing, None, base_url))
        else:
            continue
        states.append(initial_state(declared.name, spec))
    pool = AccountPool(
        accounts,
        states,
        strategy=config.routing.strategy,
        policy=policy_of(config.routing),
        session_affinity=config.routing.session_affinity,
        clock=clock,
    )
    for account in accounts:
        if isinstance(account.credential, MissingCredential):
            pool.apply(account.name, classify_credential_failure())  # shown as unhealthy from the start
    return pool


def is_single_account(config: RouterConfig) -> bool:
    """The seed's single-account mode: no `accounts:` and no ADDITIONAL_ACCOUNT_DIRS."""
    return not config.accounts and not any(d.strip() for d in config.upstream.additional_account_dirs)
