"""`link-assistant-router providers add|list|show|remove|import`, in the seed's output formats.

Works on `<DATA_DIR>/providers.lenv` (the same file a running server reads on every request, so
changes apply without a restart). Keys never appear in output: `add`/`show` print the redacted
record as JSON, `list` prints the table `name kind base_url enabled default_model`. An unknown
name → `not found: <name>` on stderr, exit 2; bad input → `error: …` on stderr, exit 1; a missing
TOKEN_SECRET → exit 2, like the seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.cli.settings import settings_from_args
from gateway.credentials.secrets import resolve_secret
from gateway.errors import GatewayError
from gateway.providers.imports import parse_import
from gateway.providers.records import ProviderRecord, parse_enabled, provider_input
from gateway.providers.store import ProviderStore

LIST_ROW = "{:<20}  {:<18}  {:<40}  {:<7}  {}"

Action = Callable[[ProviderStore, argparse.Namespace], int]


DESCRIPTION = """\
Manage the OpenAI-compatible upstreams (LiteLLM, vLLM, ...) used with
UPSTREAM_PROVIDER=openai-compatible. Providers live in <DATA_DIR>/providers.lenv;
a running gateway reads the file on every request, so changes apply at once.
Inline keys are stored AES-256-GCM encrypted with a key derived from TOKEN_SECRET
(required), and no command ever prints a key."""

IMPORT_FORMATS = """\
formats (detected from the content):
  JSON            {"providers": [{...}, ...]}, one provider object, or an array of them
  providers.lenv  `PROVIDER: {json}` lines from another router (encrypted keys are
                  kept; they only decrypt with the same TOKEN_SECRET)
  Links form      an unindented provider name, then indented `key value` lines:
                    litellm
                      base-url "http://litellm:4000/v1"
                      model "claude-sonnet"
                      models "claude-sonnet,gpt-4o"
                      api-key-env "LITELLM_MASTER_KEY"
                  keys: kind, base_url|base-url|api_base|api-base, model|default_model,
                  models, api_key|api-key, api_key_env|api-key-env, enabled
Each provider found replaces any stored provider of the same name."""


def register(subparsers: Any) -> None:
    providers = subparsers.add_parser(
        "providers",
        help="manage OpenAI-compatible upstream providers",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ops = providers.add_subparsers(dest="providers_command", metavar="OPERATION", required=True)

    add = ops.add_parser("add", help="add or replace a provider (the whole record)")
    add.add_argument("--name", required=True, help="provider name (letters, digits, '-', '_', '.')")
    add.add_argument("--base-url", required=True, help="the provider's /v1 API base URL")
    add.add_argument("--kind", default="openai-compatible", help="provider kind (openai-compatible)")
    add.add_argument("--model", default=None, help="default model injected when a request has none")
    add.add_argument("--models", default=None, help="comma-separated models listed at /v1/models")
    add.add_argument("--api-key", default=None, help="inline key, stored AES-256-GCM encrypted")
    add.add_argument("--api-key-env", default=None, help="environment variable holding the key")
    add.add_argument(
        "--enabled",
        nargs="?",
        const="true",
        default="true",
        metavar="BOOL",
        help="whether the provider is used (default true; `--enabled false` disables)",
    )
    add.set_defaults(handler=_handler(_add))

    ops.add_parser("list", help="list providers").set_defaults(handler=_handler(_list))
    for name, action, text in (
        ("show", _show, "show one provider (redacted JSON)"),
        ("remove", _remove, "remove a provider"),
    ):
        op = ops.add_parser(name, help=text)
        op.add_argument("name", help="provider name")
        op.set_defaults(handler=_handler(action))
    imp = ops.add_parser(
        "import",
        help="import from JSON, a providers.lenv or the indented Links form",
        epilog=IMPORT_FORMATS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("path", help="file to import (JSON, providers.lenv or Links form)")
    imp.set_defaults(handler=_handler(_import))


def open_provider_store(args: argparse.Namespace) -> ProviderStore | None:
    """The data dir's provider store under TOKEN_SECRET, or None (said on stderr) when the secret is unset."""
    config = settings_from_args(args).config
    secret = resolve_secret(config.admin.token_secret, os.environ)
    if not secret:
        where = config.admin.token_secret.describe()
        print(f"error: TOKEN_SECRET is required ({where} is unset or empty)", file=sys.stderr)
        return None
    from gateway.app import resolve_data_dir  # the one definition of the seed's data-dir default

    return ProviderStore(resolve_data_dir(config, os.environ), secret)


def _handler(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        store = open_provider_store(args)
        if store is None:
            return 2
        try:
            return action(store, args)
        except GatewayError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
            return 1

    return run


def _print_json(record: ProviderRecord) -> None:
    print(json.dumps(record.redacted(), indent=2, ensure_ascii=False))


def _not_found(name: str) -> int:
    print(f"not found: {name}", file=sys.stderr)
    return 2


def _add(store: ProviderStore, args: argparse.Namespace) -> int:
    data = {
        "name": args.name,
        "kind": args.kind,
        "base_url": args.base_url,
        "default_model": args.model,
        "models": args.models,
        "api_key": args.api_key,
        "api_key_env": args.api_key_env,
        "enabled": parse_enabled(args.enabled),
    }
    _print_json(store.upsert(provider_input(data)))
    return 0


def render_list(records: list[ProviderRecord]) -> str:
    """The seed's `providers list` table (pure)."""
    lines = [LIST_ROW.format("name", "kind", "base_url", "enabled", "default_model")]
    for r in records:
        enabled = "true" if r.enabled else "false"
        lines.append(LIST_ROW.format(r.name, r.kind, r.base_url, enabled, r.default_model or "-"))
    return "\n".join(lines)


def _list(store: ProviderStore, args: argparse.Namespace) -> int:
    print(render_list(store.records()))
    return 0


def _show(store: ProviderStore, args: argparse.Namespace) -> int:
    record = store.get(args.name)
    if record is None:
        return _not_found(args.name)
    _print_json(record)
    return 0


def _remove(store: ProviderStore, args: argparse.Namespace) -> int:
    if not store.remove(args.name):
        return _not_found(args.name)
    print(f"removed {args.name}")
    return 0


def _import(store: ProviderStore, args: argparse.Namespace) -> int:
    text = Path(args.path).read_text(encoding="utf-8")
    imported = store.upsert_many(parse_import(text))
    print(f"imported {len(imported)} provider(s)")
    return 0
