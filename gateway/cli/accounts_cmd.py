"""`link-assistant-router accounts list`: the seed's table `name healthy used home` plus our columns.

Without `--url` it builds the pool from the effective configuration, as the seed does (counts are
fresh, so `used` is 0) and marks accounts whose credential cannot be read as unhealthy. With
`--url http://router:8080` it shows the live pool of a running gateway (its `/v1/accounts`, using
TOKEN_ADMIN_KEY as the Bearer key when set). `--json` prints the entries instead of the table.
Never prints a credential. Errors → `error: …` on stderr, exit 1; missing TOKEN_SECRET → exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from dsl.model import RouterConfig
from gateway.accounts.build import build_account_pool, is_single_account
from gateway.accounts.classify import classify_credential_failure
from gateway.accounts.view import accounts_body, accounts_table
from gateway.adminauth import admin_key
from gateway.cli.settings import settings_from_args
from gateway.credentials.oauth import CredentialUnavailable, OAuthFileCredential
from gateway.credentials.secrets import resolve_secret

LIST_HELP = """\
Show every upstream account the router would use, one row each:

  name       the account (`primary`, `account-1`, ... in the seed layout, else the config's names)
  healthy    true when the account can take requests now
  used       requests it has served (0 without --url: a fresh pool)
  home       its Claude Code credential dir (`-` for an API-key account)
  state      healthy, busy (at max-concurrent), cooling_down, quota_exhausted, unhealthy, drained
  reason     why it is cooling down: rate_limit, quota_5h, quota_weekly, overloaded, upstream_error,
             connection, auth (still refused after a token refresh), credential (unreadable)
  reset      when the cooldown ends (a quota window's reset time if the upstream said)
  in_flight  requests it is serving right now
  refresh    OAuth token refresh health: ok, failing(N), - (not tried yet), n/a (API key)

Without --url the pool is built from the effective configuration (flags, environment, .lenv, .env,
config file). With --url it asks a running gateway for its live pool (GET /v1/accounts), sending
TOKEN_ADMIN_KEY as the Bearer key when set. No credential is ever printed.
"""


def register(subparsers: Any) -> None:
    accounts = subparsers.add_parser(
        "accounts",
        help="show the upstream account pool",
        description="Show the upstream account pool (see `accounts list -h`).",
    )
    ops = accounts.add_subparsers(dest="accounts_command", metavar="OPERATION", required=True)
    listing = ops.add_parser(
        "list",
        help="list accounts: name healthy used home + state columns",
        description=LIST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument(
        "--url",
        default=None,
        metavar="URL",
        help="base URL of a running gateway (http://router:8080) to show its live state",
    )
    listing.add_argument("--json", action="store_true", help="print the /v1/accounts JSON, not the table")
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    config = settings_from_args(args).config
    if not resolve_secret(config.admin.token_secret, os.environ):
        where = config.admin.token_secret.describe()
        print(f"error: TOKEN_SECRET is required ({where} is unset or empty)", file=sys.stderr)
        return 2
    try:
        if args.url:
            body = asyncio.run(fetch_live(args.url, admin_key(config, os.environ)))
        else:
            body = asyncio.run(local_pool_body(config, os.environ))
    except LiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    entries = body.get("accounts") or []
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        print(accounts_table(entries))
    return 0


async def local_pool_body(config: RouterConfig, environ: Mapping[str, str]) -> dict[str, Any]:
    from gateway.app import resolve_data_dir  # the one definition of the seed's data-dir default

    data_dir = resolve_data_dir(config, environ)

    def no_session() -> aiohttp.ClientSession:
        raise CredentialUnavailable("listing does not refresh tokens")

    pool = build_account_pool(config, environ, data_dir, no_session)
    for account in pool.accounts:
        credential = account.credential
        if isinstance(credential, OAuthFileCredential) and credential.current() is None:
            pool.apply(account.name, classify_credential_failure())
    return accounts_body(pool.snapshot(), is_single_account(config))


class LiveError(Exception):
    """A running gateway could not be asked; the message says what to check."""


async def fetch_live(url: str, key: str | None) -> dict[str, Any]:
    target = url.rstrip("/") + "/v1/accounts"
    where = _shown(target)
    headers = {"authorization": f"Bearer {key}"} if key else {}
    if not _is_http(target):
        raise LiveError(f"--url takes the gateway's base URL like http://router:8080, not {where}")
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(target, headers=headers) as response,
        ):
            status = response.status
            try:
                payload = await response.json(content_type=None)
            except ValueError:
                payload = None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        reason = getattr(getattr(exc, "os_error", None), "strerror", None) or type(exc).__name__
        raise LiveError(f"cannot reach the gateway at {where}: {reason}") from None
    if status in (401, 403):
        hint = "set TOKEN_ADMIN_KEY to its admin key" if key is None else "TOKEN_ADMIN_KEY is not its key"
        raise LiveError(f"{where} refused the request ({status}): {hint}")
    if status != 200 or not isinstance(payload, dict) or not isinstance(payload.get("accounts"), list):
        raise LiveError(f"{where} did not answer with the account list (HTTP {status}); is it a router?")
    return payload


def _is_http(url: str) -> bool:
    try:
        parsed = URL(url)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.host)


def _shown(url: str) -> str:
    """The URL without any user:password part, for error messages."""
    try:
        parsed = URL(url)
    except ValueError:
        return "the given URL"
    return str(parsed.with_user(None)) if parsed.user or parsed.password else url
