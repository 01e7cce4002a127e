"""Which upstream accounts the config declares, and their credential sources.

`account_specs` is pure: explicit `accounts:` from the config, else the seed's layout (`primary` =
CLAUDE_CODE_HOME, then `account-1`, `account-2`, ... from ADDITIONAL_ACCOUNT_DIRS).
`build_credentials` turns the specs into credential objects (reading nothing yet).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from dsl.model import RouterConfig, SecretRef
from gateway.credentials.apikey import ApiKeyCredential
from gateway.credentials.oauth import OAuthFileCredential
from gateway.credentials.secrets import resolve_secret
from gateway.credentials.source import CredentialSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountSpec:
    name: str
    oauth_home: Path | None = None
    api_key: SecretRef | None = None


def expand_home(path: str, environ: Mapping[str, str]) -> Path:
    if path == "~" or path.startswith("~/"):
        home = environ.get("HOME") or str(Path.home())
        return Path(home) / path[2:] if path != "~" else Path(home)
    return Path(path)


def account_specs(config: RouterConfig, environ: Mapping[str, str]) -> tuple[AccountSpec, ...]:
    if config.accounts:
        return tuple(
            AccountSpec(
                a.name,
                expand_home(a.oauth_home, environ) if a.oauth_home else None,
                a.api_key,
            )
            for a in config.accounts
        )
    specs = [AccountSpec("primary", expand_home(config.upstream.claude_code_home, environ))]
    for i, extra in enumerate(d for d in config.upstream.additional_account_dirs if d.strip()):
        specs.append(AccountSpec(f"account-{i + 1}", expand_home(extra.strip(), environ)))
    return tuple(specs)


def state_path(data_dir: Path, account_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", account_name) or "account"
    return data_dir / "oauth" / f"{safe}.json"


def build_credentials(
    config: RouterConfig,
    environ: Mapping[str, str],
    data_dir: Path,
    session: Callable[[], aiohttp.ClientSession],
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, CredentialSource]:
    """Account name → credential, for the accounts whose credential can be built. `monotonic`
    times the credential-file re-checks (tests pass a virtual clock's)."""
    accounts: dict[str, CredentialSource] = {}
    for spec in account_specs(config, environ):
        if spec.api_key is not None:
            key = resolve_secret(spec.api_key, environ)
            if key:
                accounts[spec.name] = ApiKeyCredential(spec.name, key)
            else:
                # Said at start-up, or the only sign would be a 502 'no account' on every request.
                log.warning(
                    "account %s: API key %s is not set; account skipped", spec.name, spec.api_key.describe()
                )
            continue
        if spec.oauth_home is not None:
            credential = OAuthFileCredential(
                spec.name,
                spec.oauth_home,
                state_path(data_dir, spec.name),
                config.upstream.oauth_token_url,
                session,
                monotonic=monotonic,
            )
            accounts[spec.name] = credential
    return accounts
