"""Accepted means active: every seed flag/env var, set on its own (or with the setting it needs), either
changes what the gateway does or is named in a start-up warning or error. Nothing is silently ignored.

Each row is one variable: `Probe` reads an observable of the built gateway (its routes, its accounts,
its doctor report, its MPP gate...) and requires it to differ from the defaults'; `Covered` names the
test elsewhere that shows the effect end to end (checked to exist); `Warns` / `Refuses` expect a
start-up warning / error that names the variable. A new seed setting without a row fails here.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dsl.config.flags import SETTINGS, Kind
from dsl.errors import DslValidationError
from dsl.settings import resolve
from gateway import startup
from gateway.app import build_app, build_context, resolve_data_dir
from gateway.cli.doctor_cmd import doctor_lines
from gateway.credentials.build import account_specs
from gateway.logging import level_from
from gateway.mpp.gate import MPP, TEST_SECRET_ENV
from tests.support.gateway import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
BASE = {"TOKEN_SECRET": TEST_SECRET, "HOME": "/nonexistent-home-for-table", "ADMIN_GRPC_PORT": "off"}


def doctor(key: str) -> Callable[[Any, dict[str, str]], Any]:
    return lambda config, env: dict(doctor_lines(config, env, 0.0)).get(key)


def routes(config: Any, env: dict[str, str]) -> frozenset[str]:
    app = build_app(config, env)
    return frozenset(r.resource.canonical for r in app.router.routes() if r.resource is not None)


@dataclass(frozen=True)
class Probe:
    read: Callable[[Any, dict[str, str]], Any]


@dataclass(frozen=True)
class Covered:
    test: str  # tests/<file>.py::<test name>


@dataclass(frozen=True)
class Warns:
    pass


@dataclass(frozen=True)
class Refuses:
    pass


OC = {"UPSTREAM_PROVIDER": "openai-compatible"}
GONKA = {"UPSTREAM_PROVIDER": "gonka", "GONKA_PRIVATE_KEY": "11" * 32}
MPP_ON = {"MPP_ENABLE": "true", "MPP_RECIPIENT": "acct", "MPP_AMOUNT": "5", TEST_SECRET_ENV: "s"}
AP_OFF = {"DISABLE_ACTIVITYPUB": "true"}
AP_DOCS = "tests/forgefed/test_surface.py::test_discovery_documents_are_public_and_activitypub_json"
AP_KEYS = "tests/forgefed/test_surface.py::test_configured_keys_are_used_and_checked"
AP_RATE = "tests/forgefed/test_surface.py::test_activitypub_routes_are_rate_limited_per_client"
SIDECAR_TESTS = "tests/gateway/test_sidecar_socket.py::"
SIDECAR_BESIDE_TCP = SIDECAR_TESTS + "test_sdks_reach_the_gateway_through_the_socket_beside_tcp"
SIDECAR_ALONE = SIDECAR_TESTS + "test_socket_alone_with_its_mode_and_admin_grpc_on_a_socket"
GONKA_ENDPOINT = "http://127.0.0.1:1;gonka1q6hag67dl53wl99vzg42z8eyzfz2xlkvqkpz3w"

# (variable, value, the other settings it is set with, expectation)
TABLE: list[tuple[str, str, dict[str, str], Any]] = [
    ("ROUTER_HOST", "127.0.0.9", {}, Probe(doctor("listen_addr"))),
    ("ROUTER_PORT", "8181", {}, Probe(doctor("listen_addr"))),
    (
        "ADMIN_GRPC_PORT",
        "9191",
        {},
        Covered("tests/admin_grpc/test_serve_process.py::test_serve_runs_admin_grpc_and_json_logs"),
    ),
    ("VERBOSE", "true", {}, Probe(lambda c, e: level_from(c.server.verbose, {}))),
    (
        "ADMIN_GRPC_HOST",
        "127.0.0.1",
        {},
        Covered(
            "tests/admin_grpc/test_tls_listeners.py::test_admin_grpc_binds_the_http_host_unless_told_otherwise"
        ),
    ),
    (
        "TLS_CERT_FILE",
        "/x/cert.pem",
        {"TLS_KEY_FILE": "/x/key.pem"},
        Covered(
            "tests/admin_grpc/test_tls_listeners.py::test_sdks_over_https_admin_over_tls_and_certificates_reloaded"
        ),
    ),
    (
        "TLS_KEY_FILE",
        "/x/key.pem",
        {"TLS_CERT_FILE": "/x/cert.pem"},
        Covered(
            "tests/admin_grpc/test_tls_listeners.py::test_sdks_over_https_admin_over_tls_and_certificates_reloaded"
        ),
    ),
    (
        "ADMIN_GRPC_CLIENT_CA_FILE",
        "/x/ca.pem",
        {"TLS_CERT_FILE": "/x/cert.pem", "TLS_KEY_FILE": "/x/key.pem"},
        Covered("tests/admin_grpc/test_remote_admin.py::test_cli_over_mtls_manages_a_remote_gateway"),
    ),
    (
        "JSON_LOGS",
        "true",
        {},
        Covered("tests/telemetry/test_gateway_telemetry.py::test_json_access_log_one_line_per_request"),
    ),
    (
        "ROUTER_SHUTDOWN_GRACE",
        "30",
        {},
        Covered(
            "tests/gateway/test_graceful_shutdown.py::"
            "test_sigterm_fails_ready_first_keeps_accepting_then_finishes_or_ends_streams"
        ),
    ),
    (
        "ROUTER_SHUTDOWN_DELAY",
        "0.8",
        {},
        Covered(
            "tests/gateway/test_graceful_shutdown.py::"
            "test_sigterm_fails_ready_first_keeps_accepting_then_finishes_or_ends_streams"
        ),
    ),
    (
        "TOKEN_SECRET",
        "another-secret",
        {},
        Probe(lambda c, e: _outcome(lambda: build_context(c, e).token_secret)),
    ),
    ("TOKEN_ADMIN_KEY", "admin", {}, Probe(doctor("admin_key"))),
    (
        "CLAUDE_CODE_HOME",
        "/somewhere/claude",
        {},
        Probe(lambda c, e: [s.oauth_home for s in account_specs(c, e)]),
    ),
    ("ADDITIONAL_ACCOUNT_DIRS", "/a,/b", {}, Probe(lambda c, e: len(account_specs(c, e)))),
    (
        "UPSTREAM_PROVIDER",
        "openai-compatible",
        {},
        Covered("tests/openai/test_provider_http.py::test_provider_usage_is_charged_to_the_key"),
    ),
    (
        "UPSTREAM_PROVIDER",
        "crater",
        {"CRATER_FORGEFED_INBOX": "http://127.0.0.1:1/inbox"},
        Covered(
            "tests/forgefed/test_crater_http.py::test_a_chat_completion_is_a_signed_offer_polled_until_resolved"
        ),
    ),
    (
        "UPSTREAM_BASE_URL",
        "http://127.0.0.1:1",
        {},
        Covered("tests/gateway/test_proxy_sdk.py::test_messages_create"),
    ),
    (
        "CLAUDE_OAUTH_TOKEN_URL",
        "http://127.0.0.1:1/t",
        {},
        Covered(
            "tests/gateway/test_oauth_refresh.py::test_expiring_token_is_refreshed_once_for_concurrent_requests"
        ),
    ),
    (
        "UPSTREAM_API_FORMAT",
        "vertex",
        {},
        Covered("tests/bedrock/test_api_format.py::test_the_environment_variable_and_its_seed_synonyms_act"),
    ),
    (
        "ROUTING_MODE",
        "cli",
        {},
        Covered(
            "tests/accounts/test_cli_mode.py::test_cli_mode_answers_a_messages_call_through_the_claude_cli"
        ),
    ),
    ("CLAUDE_CLI_BIN", "/bin/claude", {}, Warns()),
    (
        "CLAUDE_CLI_BIN",
        "/bin/claude",
        {"ROUTING_MODE": "cli"},
        Covered("tests/accounts/test_cli_mode.py::test_claude_cli_bin_selects_the_binary"),
    ),
    (
        "STORAGE_POLICY",
        "memory",
        {},
        Covered("tests/tokens/test_filestore.py::test_memory_policy_writes_nothing"),
    ),
    ("DATA_DIR", "/somewhere/data", {}, Probe(lambda c, e: resolve_data_dir(c, e))),
    (
        "REDIS_URL",
        "redis://127.0.0.1:1",
        {},
        Covered(
            "tests/tokens/test_redis_store.py::test_two_gateways_share_one_budget_and_one_revocation_list"
        ),
    ),
    ("GONKA_PRIVATE_KEY", "11" * 32, {}, Warns()),
    ("GONKA_PRIVATE_KEY", "not-a-key", {"UPSTREAM_PROVIDER": "gonka"}, Refuses()),
    ("GONKA_PRIVATE_KEY", "11" * 32, {"UPSTREAM_PROVIDER": "gonka"}, Probe(doctor("gonka_requester"))),
    ("GONKA_SOURCE_URL", "http://127.0.0.1:1", {}, Warns()),
    (
        "GONKA_SOURCE_URL",
        "http://127.0.0.1:1",
        GONKA,
        Covered("tests/gonka/test_gonka_gateway.py::test_chat_through_the_gateway_is_signed_and_charged"),
    ),
    ("GONKA_MODEL", "some/model", {}, Warns()),
    ("GONKA_MODEL", "some/model", GONKA, Probe(doctor("gonka_model"))),
    ("GONKA_ENDPOINTS", GONKA_ENDPOINT, {}, Warns()),
    ("GONKA_ENDPOINTS", "nonsense", GONKA, Refuses()),
    ("GONKA_ENDPOINTS", GONKA_ENDPOINT, GONKA, Probe(doctor("gonka_endpoints"))),
    ("CRATER_FORGEFED_INBOX", "http://127.0.0.1:1/inbox", {}, Warns()),
    ("CRATER_FORGEFED_ACTOR", "http://127.0.0.1:1/actor", {}, Warns()),
    ("CRATER_FORGEFED_TARGET", "http://127.0.0.1:1/t", {}, Warns()),
    ("CRATER_POLL_INTERVAL_MS", "5", {}, Warns()),
    ("CRATER_POLL_TIMEOUT_SECS", "5", {}, Warns()),
    ("OPENAI_COMPATIBLE_PROVIDER_NAME", "vllm", {}, Warns()),
    ("OPENAI_COMPATIBLE_PROVIDER_NAME", "vllm", OC, Probe(doctor("openai_provider"))),
    ("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:1/v1", {}, Warns()),
    ("OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:1/v1", OC, Probe(doctor("openai_provider"))),
    ("OPENAI_COMPATIBLE_API_KEY", "sk-x", {}, Warns()),
    (
        "OPENAI_COMPATIBLE_API_KEY",
        "sk-x",
        OC,
        Covered(
            "tests/openai/test_provider_http.py::test_the_seeds_environment_alone_configures_the_provider"
        ),
    ),
    ("OPENAI_COMPATIBLE_API_KEY_ENV", "SOME_KEY", {}, Warns()),
    ("OPENAI_COMPATIBLE_MODEL", "m", {}, Warns()),
    (
        "OPENAI_COMPATIBLE_MODEL",
        "m",
        OC,
        Covered(
            "tests/openai/test_provider_http.py::test_forwarding_swaps_only_the_key_and_injects_the_default_model"
        ),
    ),
    ("OPENAI_COMPATIBLE_MODELS", "a,b", {}, Warns()),
    (
        "OPENAI_COMPATIBLE_MODELS",
        "a,b",
        OC,
        Covered(
            "tests/openai/test_provider_http.py::test_the_seeds_environment_alone_configures_the_provider"
        ),
    ),
    (
        "OPENAI_COMPATIBLE_API_KEY_ENV",
        "SOME_KEY",
        OC,
        Covered(
            "tests/openai/test_providers.py::test_env_key_wins_over_inline_and_boot_config_is_the_fallback"
        ),
    ),
    ("ACTIVITYPUB_ACTOR_BASE_URL", "http://127.0.0.1:1", {}, Covered(AP_DOCS)),
    ("ACTIVITYPUB_ACTOR_BASE_URL", "http://127.0.0.1:1", AP_OFF, Warns()),
    ("ACTIVITYPUB_PUBLIC_KEY_PEM", "pem", {}, Covered(AP_KEYS)),
    ("ACTIVITYPUB_PUBLIC_KEY_PEM", "pem", AP_OFF, Warns()),
    ("ACTIVITYPUB_PRIVATE_KEY_PEM", "pem", {}, Covered(AP_KEYS)),
    ("ACTIVITYPUB_PRIVATE_KEY_PEM", "pem", AP_OFF, Warns()),
    ("ACTIVITYPUB_RATE_LIMIT_PER_MINUTE", "5", {}, Covered(AP_RATE)),
    ("ACTIVITYPUB_RATE_LIMIT_PER_MINUTE", "5", AP_OFF, Warns()),
    ("DISABLE_ACTIVITYPUB", "true", {}, Probe(routes)),
    ("DISABLE_OPENAI_API", "true", {}, Probe(routes)),
    ("DISABLE_ANTHROPIC_API", "true", {}, Probe(routes)),
    ("DISABLE_METRICS", "true", {}, Probe(routes)),
    ("EXPERIMENTAL_COMPATIBILITY", "true", {}, Warns()),
    ("MPP_ENABLE", "true", {}, Refuses()),  # no recipient
    ("MPP_ENABLE", "true", {**MPP_ON, "MPP_AMOUNT": "0.00"}, Refuses()),
    ("MPP_ENABLE", "true", {**MPP_ON, TEST_SECRET_ENV: ""}, Refuses()),  # nothing could verify a payment
    ("MPP_ENABLE", "true", MPP_ON, Probe(lambda c, e: MPP in build_app(c, e))),
    ("MPP_ENABLE", "true", {**MPP_ON, "DISABLE_OPENAI_API": "true"}, Warns()),
    ("MPP_AMOUNT", "7", {}, Warns()),
    ("MPP_AMOUNT", "7", MPP_ON, Probe(lambda c, e: build_app(c, e)[MPP].charge.amount)),
    ("MPP_CURRENCY", "EUR", {}, Warns()),
    ("MPP_CURRENCY", "EUR", MPP_ON, Probe(lambda c, e: build_app(c, e)[MPP].charge.currency)),
    ("MPP_RECIPIENT", "acct_other", {}, Warns()),
    ("MPP_RECIPIENT", "acct_other", MPP_ON, Probe(lambda c, e: build_app(c, e)[MPP].charge.recipient)),
    ("MPP_METHOD", "test", {}, Warns()),
    ("MPP_METHOD", "stripe", MPP_ON, Refuses()),
    ("ROUTER_SOCKET", "/nonexistent/gw.sock", {}, Covered(SIDECAR_BESIDE_TCP)),
    ("DISABLE_TCP", "true", {}, Refuses()),  # nothing left to listen on
    ("DISABLE_TCP", "true", {"ROUTER_SOCKET": "/nonexistent/gw.sock"}, Covered(SIDECAR_ALONE)),
    ("ROUTER_DEFAULT_KEY_FILE", "/nonexistent/key", {}, Refuses()),  # no socket to bind
    ("ROUTER_DEFAULT_KEY_FILE", "/nonexistent/key", {"ROUTER_SOCKET": "/nonexistent/gw.sock"}, Refuses()),
    ("ADMIN_GRPC_SOCKET", "/nonexistent/admin.sock", {}, Covered(SIDECAR_ALONE)),
]


def _effective(env: dict[str, str]) -> Any:
    return resolve({}, {k: v for k, v in env.items() if v}).config


def _named(variable: str, message: str) -> bool:
    return re.search(rf"\b{variable}\b", message) is not None


def test_every_seed_setting_has_a_row() -> None:
    covered = {row[0] for row in TABLE}
    assert {s.env for s in SETTINGS if s.kind is not Kind.CONFIG} <= covered


@pytest.mark.parametrize(
    ("variable", "value", "context", "expect"), TABLE, ids=lambda x: x if isinstance(x, str) else ""
)
def test_the_setting_acts_or_is_named(
    variable: str, value: str, context: dict[str, str], expect: Any
) -> None:
    env = {**BASE, **context, variable: value}
    plain = {**BASE, **context}
    plain.pop(variable, None)
    if isinstance(expect, Refuses):
        try:
            refused = [n.message for n in startup.errors(_effective(env), env, TEST_SECRET)]
        except DslValidationError as err:  # refused while the settings are read
            refused = [str(err)]
        assert any(_named(variable, message) for message in refused), refused
        return
    config = _effective(env)
    named = [n.message for n in startup.notices(config, env, TEST_SECRET) if _named(variable, n.message)]
    if isinstance(expect, Warns):
        assert named, f"{variable} is accepted, does nothing here, and nothing says so"
        assert all(n.level is startup.Level.WARNING for n in startup.notices(config, env, TEST_SECRET))
        return
    assert not named, named  # an active setting draws no warning
    if isinstance(expect, Probe):
        before = _outcome(lambda: expect.read(_effective(plain), plain))
        assert expect.read(config, env) != before, f"{variable} changed nothing"
    else:
        file, _, name = expect.test.partition("::")
        assert f"def {name}(" in (ROOT / file).read_text(encoding="utf-8"), expect.test


def _outcome(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as exc:  # the default may refuse to start: that is an observable too
        return type(exc).__name__


def test_serve_logs_the_warnings_and_refuses_the_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from gateway.cli.serve_cmd import _log_banner, serve

    env = {**BASE, "EXPERIMENTAL_COMPATIBILITY": "true", "CRATER_FORGEFED_INBOX": "http://127.0.0.1:1/i"}
    with caplog.at_level(logging.WARNING, logger="gateway.serve"):
        _log_banner(_effective(env), env, "127.0.0.1", 1)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(_named("EXPERIMENTAL_COMPATIBILITY", m) for m in warned)
    assert any(_named("CRATER_FORGEFED_INBOX", m) for m in warned)
    refused = {**BASE, **MPP_ON, TEST_SECRET_ENV: ""}
    assert serve(_effective(refused), refused) == 2


def test_doctor_reports_only_what_is_active(tmp_path: Path) -> None:
    env = {**BASE, "HOME": str(tmp_path), "EXPERIMENTAL_COMPATIBILITY": "true", "MPP_RECIPIENT": "acct"}
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "doctor"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line.split(" : ", 1) for line in result.stdout.splitlines() if " : " in line]
    keys = {key for key, _ in lines}
    assert "openai_provider" not in keys and "crater_inbox" not in keys  # not the provider in effect
    assert dict(lines)["mpp_openai_charge"] == "disabled"
    warnings = [value for key, value in lines if key == "warning"]
    assert any(_named("EXPERIMENTAL_COMPATIBILITY", w) for w in warnings)
    assert any(_named("MPP_RECIPIENT", w) for w in warnings)
    paid = {**env, **MPP_ON}
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "doctor"], cwd=tmp_path, env=paid, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    state = dict(line.split(" : ", 1) for line in result.stdout.splitlines() if " : " in line)[
        "mpp_openai_charge"
    ]
    assert state.startswith("enabled (5 usd to acct per request, method test)")
