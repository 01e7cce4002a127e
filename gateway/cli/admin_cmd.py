"""`link-assistant-router admin --target HOST:PORT …`: manage a remote gateway over admin gRPC.

A thin shell over `link_assistant_router_admin.AdminClient`: TLS by default (`--tls-ca` to trust a
private CA, `--tls-cert`/`--tls-key` for mTLS, `--plaintext` only when asked), the admin key from
`--admin-key-file`, else `--admin-key`, else `TOKEN_ADMIN_KEY`. Output: resources as JSON (lists
and the usage watch as JSON Lines); `tokens create` prints only the la_sk_ key on stdout, once.
Errors: the server's message with its decoded details on stderr; exit 2 for NOT_FOUND and bad
input, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from link_assistant_router_admin import AdminClient, AdminError
from link_assistant_router_admin.channel import ChannelError, ChannelOptions, open_channel

USER_ERRORS = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS)


def register(subparsers: Any) -> None:
    admin = subparsers.add_parser(
        "admin",
        help="manage a remote gateway over the admin gRPC API (tokens, accounts, providers, usage, config)",
        description="Manage a running gateway over its admin gRPC API, with TLS or mTLS.",
    )
    admin.add_argument("--target", required=True, help="HOST:PORT of the gateway's admin gRPC listener")
    admin.add_argument("--tls-ca", help="PEM CA bundle that signed the gateway's certificate")
    admin.add_argument("--tls-cert", help="PEM client certificate (mTLS)")
    admin.add_argument("--tls-key", help="PEM key of --tls-cert")
    admin.add_argument("--tls-server-name", help="name to check the certificate against (default: HOST)")
    admin.add_argument("--plaintext", action="store_true", help="no TLS (loopback or a trusted network only)")
    admin.add_argument("--admin-key-file", help="file holding the admin key (default: TOKEN_ADMIN_KEY)")
    kinds = admin.add_subparsers(dest="resource", metavar="RESOURCE", required=True)

    tokens = kinds.add_parser("tokens", help="la_sk_ keys").add_subparsers(dest="verb", required=True)
    create = tokens.add_parser("create", help="issue a key; prints it once")
    create.add_argument("--label", default="")
    create.add_argument("--account", default="")
    for flag in ("--ttl-hours", "--max-requests", "--max-tokens", "--rate-limit-per-minute"):
        create.add_argument(flag, type=int)
    _list_parser(tokens, "revoked=false account=NAME label=TEXT expired=true")
    for verb in ("get", "revoke", "expire"):
        tokens.add_parser(verb).add_argument("name", help="token id or tokens/{id}")

    accounts = kinds.add_parser("accounts", help="the live account pool")
    accounts = accounts.add_subparsers(dest="verb", required=True)
    _list_parser(accounts, "state=drained healthy=true")
    for verb in ("get", "drain", "resume", "reset-cooldown"):
        accounts.add_parser(verb).add_argument("name", help="account name or accounts/{name}")

    providers = kinds.add_parser("providers", help="OpenAI-compatible providers").add_subparsers(
        dest="verb", required=True
    )
    _list_parser(providers, "enabled=true model=NAME")
    for verb in ("get", "delete"):
        providers.add_parser(verb).add_argument("name", help="provider name or providers/{name}")
    for verb in ("create", "update"):
        parser = providers.add_parser(verb, help="update changes only the fields given")
        parser.add_argument("name")
        parser.add_argument("--base-url")
        parser.add_argument("--kind")
        parser.add_argument("--model")
        parser.add_argument("--models", help="comma-separated")
        parser.add_argument("--enabled", choices=("true", "false"))
        parser.add_argument("--api-key-env")
        parser.add_argument("--api-key-stdin", action="store_true", help="read an inline key from stdin")

    usage = kinds.add_parser("usage", help="counters and the live feed")
    usage = usage.add_subparsers(dest="verb", required=True)
    usage.add_parser("get")
    watch = usage.add_parser("watch", help="stream usage events (reconnects and resumes)")
    watch.add_argument("--after", type=int, help="resume after this sequence number")
    watch.add_argument("--account", default="")
    watch.add_argument("--route", default="")
    watch.add_argument("--errors-only", action="store_true")
    watch.add_argument("--count", type=int, help="stop after this many events")

    config = kinds.add_parser("config", help="validate, show, reload")
    config = config.add_subparsers(dest="verb", required=True)
    validate = config.add_parser("validate", help="check a router.lino on the gateway")
    validate.add_argument("file", type=Path)
    config.add_parser("show", help="the running configuration, redacted")
    config.add_parser("reload", help="re-read TLS files and stores now")
    admin.set_defaults(handler=run)


def _list_parser(verbs: Any, example: str) -> None:
    listing = verbs.add_parser("list", help="every item, page by page")
    listing.add_argument("--filter", default="", help=f"e.g. {example!r}")
    listing.add_argument("--page-size", type=int, default=0)


def is_loopback_target(target: str) -> bool:
    host = target.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def admin_key(args: argparse.Namespace) -> str | None:
    if args.admin_key_file:
        return None  # read by ChannelOptions.from_files
    given = getattr(args, "admin_key", None)  # the global --admin-key flag
    return str(given) if given else os.environ.get("TOKEN_ADMIN_KEY") or None


def run(args: argparse.Namespace) -> int:
    try:
        options = ChannelOptions.from_files(
            args.target,
            plaintext=args.plaintext,
            ca_file=args.tls_ca,
            cert_file=args.tls_cert,
            key_file=args.tls_key,
            admin_key=admin_key(args),
            admin_key_file=args.admin_key_file,
            server_name=args.tls_server_name,
        )
    except ChannelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if options.plaintext and options.admin_key and not is_loopback_target(args.target):
        print(f"warning: sending the admin key to {args.target} without TLS", file=sys.stderr)
    try:
        return asyncio.run(_run(options, args))
    except AdminError as err:
        hint = f" (cannot reach {args.target})" if err.code == grpc.StatusCode.UNAVAILABLE else ""
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2 if err.code in USER_ERRORS else 1
    except KeyboardInterrupt:
        return 130


async def _run(options: ChannelOptions, args: argparse.Namespace) -> int:
    # The channel belongs to this event loop, so it is opened inside it.
    async with AdminClient(open_channel(options), options) as client:
        handler = {
            "tokens": _tokens,
            "accounts": _accounts,
            "providers": _providers,
            "usage": _usage,
            "config": _config,
        }[args.resource]
        return await handler(client, args)


def show(message: Any) -> None:
    print(json.dumps(MessageToDict(message), indent=2, sort_keys=True))


async def show_lines(items: AsyncIterator[Any]) -> int:
    async for item in items:
        print(json.dumps(MessageToDict(item), sort_keys=True), flush=True)
    return 0


async def _tokens(client: AdminClient, args: argparse.Namespace) -> int:
    if args.verb == "create":
        params = {"label": args.label, "account": args.account}
        for name in ("ttl_hours", "max_requests", "max_tokens", "rate_limit_per_minute"):
            if getattr(args, name) is not None:
                params[name] = getattr(args, name)
        created = await client.create_token(**params)
        print(f"created {created.token.name}", file=sys.stderr)
        print(created.key)
        return 0
    if args.verb == "list":
        return await show_lines(client.list_tokens(args.filter, args.page_size))
    act = {"get": client.get_token, "revoke": client.revoke_token, "expire": client.expire_token}
    show(await act[args.verb](args.name))
    return 0


async def _accounts(client: AdminClient, args: argparse.Namespace) -> int:
    if args.verb == "list":
        return await show_lines(client.list_accounts(args.filter, args.page_size))
    act = {
        "get": client.get_account,
        "drain": client.drain_account,
        "resume": client.resume_account,
        "reset-cooldown": client.reset_account_cooldown,
    }
    show(await act[args.verb](args.name))
    return 0


def provider_fields(args: argparse.Namespace) -> dict[str, Any]:
    """Only the flags given: for `update` they are exactly the field mask."""
    fields: dict[str, Any] = {
        key: getattr(args, key) for key in ("base_url", "kind", "model", "api_key_env") if getattr(args, key)
    }
    if args.models is not None:
        fields["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.enabled is not None:
        fields["enabled"] = args.enabled == "true"
    if args.api_key_stdin:
        fields["api_key"] = sys.stdin.readline().strip()
    return fields


async def _providers(client: AdminClient, args: argparse.Namespace) -> int:
    if args.verb == "list":
        return await show_lines(client.list_providers(args.filter, args.page_size))
    if args.verb == "get":
        show(await client.get_provider(args.name))
    elif args.verb == "delete":
        await client.delete_provider(args.name)
        print(f"deleted providers/{args.name.removeprefix('providers/')}")
    elif args.verb == "create":
        show(await client.create_provider(args.name.removeprefix("providers/"), **provider_fields(args)))
    else:
        show(await client.update_provider(args.name, **provider_fields(args)))
    return 0


async def _usage(client: AdminClient, args: argparse.Namespace) -> int:
    if args.verb == "get":
        show(await client.get_usage())
        return 0
    seen = 0
    events = client.watch_usage(
        args.after, account=args.account, route=args.route, errors_only=args.errors_only
    )
    async for event in events:
        print(json.dumps(MessageToDict(event), sort_keys=True), flush=True)
        seen += 1
        if args.count is not None and seen >= args.count:
            break
    return 0


async def _config(client: AdminClient, args: argparse.Namespace) -> int:
    if args.verb == "show":
        print((await client.get_effective_config()).json)
        return 0
    if args.verb == "reload":
        show(await client.reload_config())
        return 0
    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as err:
        print(f"error: cannot read {args.file}: {err.strerror}", file=sys.stderr)
        return 2
    await client.validate_config(text, args.file.name, require_valid=True)
    print(f"{args.file.name}: valid")
    return 0
