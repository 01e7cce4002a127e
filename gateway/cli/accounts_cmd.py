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

from dsl.model import RouterConfig
from dsl.settings import settings_from_args
from gateway.accounts.build import build_account_pool, is_single_account
from gateway.accounts.classify import classify_credential_failure
from gateway.accounts.view import accounts_body, accounts_table
from gateway.adminauth import admin_key
from gateway.credentials.oauth import CredentialUnavailable, OAuthFileCredential
from gateway.credentials.secrets import resolve_secret


def register(subparsers: Any) -> None:
    accounts = subparsers.add_parser("accounts", help="show the upstream account pool")
    ops = accounts.add_subparsers(dest="accounts_command", metavar="OPERATION", required=True)
    listing = ops.add_parser("list", help="list accounts: name healthy used home + state columns")
    listing.add_argument("--url", default=None, help="base URL of a running gateway to ask for live state")
    listing.add_argument("--json", action="store_true", help="print the /v1/accounts JSON instead")
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


async def fetch_live(url: str, key: str | None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(
        url.rstrip("/") + "/v1/accounts", headers=headers
    ) as response:
        payload = await response.json(content_type=None)
        if response.status != 200:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            raise ValueError(f"{response.status} {error.get('message', 'unexpected answer')}")
    if not isinstance(payload, dict):
        raise ValueError("unexpected answer from /v1/accounts")
    return payload
