"""`link-assistant-router doctor`: the resolved configuration plus credential and store probes.

Prints the seed's `key : value` lines (version, listen address, upstream, toggles, credential and
store presence) and always exits 0 unless the settings themselves are invalid. Provider lines
appear only for the upstream provider in effect; settings accepted but not acted on, and settings
that would stop `serve`, follow as `warning : …` and `error : …` lines. It never prints a
secret: only whether one is set, and where a credential file is.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dsl.errors import DslError
from dsl.model import RouterConfig, StoragePolicy, UpstreamProvider
from gateway import startup
from gateway.adminauth import admin_key, unreadable_admin_key
from gateway.app import resolve_data_dir
from gateway.cli.serve_cmd import VERSION
from gateway.cli.settings import settings_from_args
from gateway.credentials.build import AccountSpec, account_specs, state_path
from gateway.credentials.files import first_existing_candidate, read_first_credentials
from gateway.credentials.secrets import resolve_secret
from gateway.gonka.forward import GonkaSetupError, gonka_upstream
from gateway.mpp.gate import MppSetupError, mpp_gate


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="print the resolved configuration and credential/store probes"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = settings_from_args(args).config
    except DslError as err:
        for problem in err.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        return 2
    for key, value in doctor_lines(config, os.environ, time.time()):
        print(f"{key} : {value}")
    return 0


def _set(value: str | None) -> str:
    return "set" if value else "unset"


def _admin_key_status(config: RouterConfig, environ: Mapping[str, str]) -> str:
    problem = unreadable_admin_key(config, environ)
    if problem is not None:  # configured but unreadable: the gateway refuses to start
        return f"UNREADABLE ({problem})"
    return _set(admin_key(config, environ))


def _on(flag: bool) -> str:
    return "true" if flag else "false"


def credential_status(spec: AccountSpec, environ: Mapping[str, str], now: float, data_dir: Path) -> str:
    if spec.api_key is not None:
        present = resolve_secret(spec.api_key, environ)
        return f"API key {spec.api_key.describe()} {'set' if present else 'MISSING'}"
    home = spec.oauth_home or Path(".")
    found = read_first_credentials(home)
    if found is None:
        existing = first_existing_candidate(home)
        if existing is not None:
            return f"found, NO TOKEN ({existing})"
        return f"MISSING ({home / '.credentials.json'})"
    expiry = found.tokens.expires_at_ms
    if expiry is None:
        state = "no expiry recorded"
    elif expiry / 1000 <= now:
        state = "expired, " + ("will refresh" if found.tokens.can_refresh else "NOT refreshable")
    else:
        state = f"expires in {int((expiry / 1000 - now) // 60)} min"
    held = "; the router holds a rotated token pair" if state_path(data_dir, spec.name).is_file() else ""
    return f"found, token OK ({found.path}; {state}){held}"


def doctor_lines(config: RouterConfig, environ: Mapping[str, str], now: float) -> list[tuple[str, str]]:
    data_dir = resolve_data_dir(config, environ)
    specs = account_specs(config, environ)
    lines: list[tuple[str, str]] = [
        ("version", VERSION),
        ("listen_addr", f"{config.server.host}:{config.server.port}"),
        ("upstream_base_url", config.upstream.base_url),
        ("upstream_provider", config.upstream.provider.value),
        *_provider_lines(config, environ),
        ("claude_code_home", str(specs[0].oauth_home) if specs and specs[0].oauth_home else "unset"),
        ("routing_mode", config.routing.mode.value),
        ("storage_policy", config.storage.policy.value),
        ("data_dir", str(data_dir)),
        ("enable_openai_api", _on(config.features.openai_api)),
        ("enable_anthropic_api", _on(config.features.anthropic_api)),
        ("enable_metrics", _on(config.features.metrics)),
        ("additional_account_dirs", str(len(config.upstream.additional_account_dirs))),
        ("token_secret", _set(resolve_secret(config.admin.token_secret, environ))),
        ("admin_key", _admin_key_status(config, environ)),
        ("mpp_openai_charge", _mpp_state(config, environ)),
    ]
    for spec in specs:
        key = "primary credentials" if spec.name == "primary" else f"account {spec.name}"
        lines.append((key, credential_status(spec, environ, now, data_dir)))
    lines.append(("data_dir_present", "yes" if data_dir.is_dir() else "no"))
    policy = config.storage.policy
    if policy in (StoragePolicy.TEXT, StoragePolicy.BOTH):
        lines.append(("lino_store", "present" if (data_dir / "tokens.lino").is_file() else "absent"))
    if policy in (StoragePolicy.BINARY, StoragePolicy.BOTH):
        lines.append(("binary_store", "present" if (data_dir / "tokens.bin").is_file() else "absent"))
    lines.append(("provider_store", "present" if (data_dir / "providers.lenv").is_file() else "absent"))
    secret = resolve_secret(config.admin.token_secret, environ) or "doctor-has-no-token-secret"
    lines += [(n.level.value, n.message) for n in startup.notices(config, environ, secret)]
    return lines


def _provider_lines(config: RouterConfig, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """Only the upstream provider in effect: the others' settings act on nothing."""
    provider = config.upstream.provider
    if provider is UpstreamProvider.OPENAI_COMPATIBLE:
        compatible = config.openai_compatible
        return [("openai_provider", f"{compatible.provider_name} {compatible.base_url}")]
    if provider is UpstreamProvider.CRATER:
        return [
            ("crater_inbox", config.crater.inbox or "unset"),
            ("crater_actor", config.crater.actor or "unset"),
        ]
    if provider is UpstreamProvider.GONKA:
        try:
            requester = gonka_upstream(config, environ).signer.address
        except GonkaSetupError:
            requester = "NO USABLE KEY"
        where = config.gonka.endpoints or f"discovered from {config.gonka.source_url}"
        return [
            ("gonka_endpoints", where),
            ("gonka_model", config.gonka.model),
            ("gonka_requester", requester),
        ]
    return []


def _mpp_state(config: RouterConfig, environ: Mapping[str, str]) -> str:
    if not config.mpp.enabled:
        return "disabled"
    try:
        gate = mpp_gate(config, environ, "doctor")
    except MppSetupError:
        return "NOT ACTIVE (see the error line)"
    if gate is None or not config.features.openai_api:
        return "NOT ACTIVE (the OpenAI routes are disabled)"
    charge = gate.charge
    return (
        f"enabled ({charge.amount} {charge.currency} to {charge.recipient} per request, method {gate.method})"
    )
