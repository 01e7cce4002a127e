"""`link-assistant-router tokens rotate-secret`: move the data dir onto a new TOKEN_SECRET.

Run it with the new secret in `TOKEN_SECRET` and the old one(s) in `TOKEN_SECRET_PREVIOUS`
(comma-separated). It re-encrypts every inline provider key in providers.lenv with the new secret
(all or nothing, under the store's lock). Keys already issued need nothing: they carry the `kid`
of the secret that signed them, and a gateway started with the same two variables keeps
verifying them while new keys are signed with the new secret. Prints one line per provider; an
unreadable key → `error: …`, exit 1, file unchanged; a missing TOKEN_SECRET → exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from gateway.cli.providers_cmd import open_provider_store
from gateway.errors import GatewayError
from gateway.providers.crypto import ProviderKeyError
from gateway.tokens.jwt_codec import parse_previous
from gateway.tokens.service import PREVIOUS_SECRETS_ENV


def register(ops: Any) -> None:
    rotate = ops.add_parser(
        "rotate-secret",
        help="re-encrypt the provider store with TOKEN_SECRET (old secrets in TOKEN_SECRET_PREVIOUS)",
        description=(
            "Re-encrypt every inline provider key in providers.lenv with the new TOKEN_SECRET, reading "
            "them with the old secret(s) listed in TOKEN_SECRET_PREVIOUS (comma-separated). Start the "
            "gateway with both variables: keys signed with a previous secret keep working."
        ),
    )
    rotate.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    store = open_provider_store(args)
    if store is None:
        return 2
    previous = parse_previous(os.environ.get(PREVIOUS_SECRETS_ENV))
    try:
        done = store.reencrypt(previous)
    except ProviderKeyError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 1
    except (GatewayError, OSError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    for name in done:
        print(f"re-encrypted provider {name}")
    print(f"{len(done)} provider key(s) now encrypted with the current TOKEN_SECRET")
    return 0
