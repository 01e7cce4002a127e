"""`link-assistant-router tokens issue|list|revoke|expire|show`, in the seed's output formats.

(`tokens rotate-secret` lives in `gateway.cli.rotate_cmd`.)

Works on the same data dir as a running server: the file store takes the data dir's lock for
every write, and the server picks up the change within a second. Output:
* `issue` prints the token only;
* `list` prints the seed's fixed-width table `id issued_at expires_at revoked requests label`;
* `revoke`/`expire` print `revoked <id>` / `expired <id>`; an unknown id → `not found: <id>` on
  stderr, exit 2 (the seed printed success for any id; a typo should not look like a revocation);
* `show` prints the record as pretty JSON; unknown → `not found: <id>` on stderr, exit 2.
Errors → `error: …` on stderr, exit 1; a missing TOKEN_SECRET → exit 2, like the seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from gateway.cli import rotate_cmd
from gateway.cli.settings import settings_from_args
from gateway.credentials.secrets import resolve_secret
from gateway.errors import GatewayError
from gateway.tokens.params import parse_issue
from gateway.tokens.records import TokenRecord, to_json
from gateway.tokens.service import TokenService, build_store
from gateway.tokens.state import MemoryTokenStore, StoreError

LIST_ROW = "{:<36}  {:<10}  {:<10}  {:<8}  {:<13}  {}"
ISSUE_FIELDS = ("ttl_hours", "label", "account", "max_requests", "max_tokens", "rate_limit_per_minute")


def register(subparsers: Any) -> None:
    tokens = subparsers.add_parser(
        "tokens",
        help="issue, list, revoke, expire and show la_sk_ keys",
        description=(
            "Manage la_sk_ keys in the token store (--data-dir / DATA_DIR, --storage-policy, or Redis with "
            "--redis-url). A running gateway on the same store sees changes within a second. Needs the "
            "gateway's TOKEN_SECRET (issued keys are signed with it). The HTTP (/api/tokens) and gRPC "
            "(TokenService) admin APIs act on the same store."
        ),
    )
    ops = tokens.add_subparsers(dest="tokens_command", metavar="OPERATION", required=True)

    issue = ops.add_parser("issue", help="issue a new key and print it")
    issue.add_argument("--ttl-hours", type=_non_negative, default=None, help="lifetime in hours (default 24)")
    issue.add_argument("--label", default="", help="human-readable label")
    issue.add_argument("--account", default=None, help="upstream account this key is pinned to")
    issue.add_argument("--max-requests", type=_non_negative, default=None, help="request budget")
    issue.add_argument("--max-tokens", type=_non_negative, default=None, help="input+output token budget")
    issue.add_argument(
        "--rate-limit-per-minute", type=_non_negative, default=None, help="requests per minute"
    )
    issue.set_defaults(handler=_handler(_issue))
    rotate_cmd.register(ops)

    ops.add_parser("list", help="list every key").set_defaults(handler=_handler(_list))
    for name, action, text in (
        ("revoke", _revoke, "revoke a key"),
        ("expire", _expire, "expire a key now"),
        ("show", _show, "show one key's record as JSON"),
    ):
        op = ops.add_parser(name, help=text)
        op.add_argument("id", help="the key's id (the JWT sub)")
        op.set_defaults(handler=_handler(action))


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be a non-negative integer")
    return value


Action = Callable[[TokenService, argparse.Namespace], Any]


def _handler(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        settings = settings_from_args(args)
        config = settings.config
        secret = resolve_secret(config.admin.token_secret, os.environ)
        if not secret:
            where = config.admin.token_secret.describe()
            print(f"error: TOKEN_SECRET is required ({where} is unset or empty)", file=sys.stderr)
            return 2
        from gateway.app import resolve_data_dir  # the one definition of the seed's data-dir default

        data_dir = resolve_data_dir(config, os.environ)

        async def session() -> int:
            store = build_store(config, data_dir, server=False)
            if type(store) is MemoryTokenStore:  # (file and Redis stores subclass it)
                print("warning: the storage policy is memory: nothing is kept", file=sys.stderr)
            await store.open()
            service = TokenService(store, secret, config.tokens)
            try:
                return int(await action(service, args))
            finally:
                await service.close()

        try:
            return asyncio.run(session())
        except GatewayError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        except (StoreError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return run


async def _issue(service: TokenService, args: argparse.Namespace) -> int:
    # The same validation as the HTTP and gRPC doors (label length, ranges), then the same issue.
    params = parse_issue({name: getattr(args, name) for name in ISSUE_FIELDS})
    issued = await service.issue(**asdict(params))
    print(issued.token)
    return 0


def render_list(records: list[TokenRecord]) -> str:
    """The seed's `tokens list` table (pure)."""
    lines = [LIST_ROW.format("id", "issued_at", "expires_at", "revoked", "requests", "label")]
    for record in records:
        lines.append(
            LIST_ROW.format(
                record.id,
                record.issued_at,
                record.expires_at,
                "true" if record.revoked else "false",
                record.requests_display(),
                _one_line(record.label),
            )
        )
    return "\n".join(lines)


def _one_line(label: str) -> str:
    # A label with a newline would break the table; show it escaped as in tokens.lino.
    return label.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


async def _list(service: TokenService, args: argparse.Namespace) -> int:
    print(render_list(service.list()))
    return 0


def _not_found(token_id: str) -> int:
    if token_id.startswith("la_sk_"):  # a pasted key: say what is wanted, and do not echo the key
        print(
            "not found: give the key's id (the UUID `tokens list` shows), not the la_sk_ key itself",
            file=sys.stderr,
        )
    else:
        print(f"not found: {token_id}", file=sys.stderr)
    return 2


async def _revoke(service: TokenService, args: argparse.Namespace) -> int:
    if await service.revoke(args.id) is None:
        return _not_found(args.id)
    print(f"revoked {args.id}")
    return 0


async def _expire(service: TokenService, args: argparse.Namespace) -> int:
    if await service.expire(args.id) is None:
        return _not_found(args.id)
    print(f"expired {args.id}")
    return 0


async def _show(service: TokenService, args: argparse.Namespace) -> int:
    record = service.get(args.id)
    if record is None:
        return _not_found(args.id)
    print(json.dumps(to_json(record), indent=2, ensure_ascii=False))
    return 0
