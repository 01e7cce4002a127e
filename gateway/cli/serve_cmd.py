"""`link-assistant-router serve` (also the default command): run the HTTP gateway until signalled.

Reads the effective settings (flags > env > .lenv > .env > config file), builds the app with the one
wiring function, binds, logs where it listens, and on SIGINT/SIGTERM stops accepting, lets in-flight
requests and streams finish (bounded by a grace period), then closes stores and sessions.
A missing TOKEN_SECRET or bad settings: one `error:` line on stderr, exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from dsl.errors import DslError
from dsl.model import RouterConfig
from gateway import startup
from gateway.admin_grpc.server import AdminServerError
from gateway.app import ConfigurationError, build_app, build_context
from gateway.cli.settings import settings_from_args
from gateway.context import GATEWAY
from gateway.credentials.build import account_specs
from gateway.credentials.secrets import resolve_secret
from gateway.http.connections import ConnectionLimits, GuardedTCPSite
from gateway.logging import configure_logging, level_from
from gateway.mpp.gate import TEST_SECRET_ENV
from gateway.reload.reloader import RELOADER
from gateway.tlsfiles import RELOADERS, http_tls, tls_problem
from gateway.tokens.jwt_codec import parse_previous
from gateway.tokens.service import PREVIOUS_SECRETS_ENV
from gateway.tokens.state import StoreError

log = logging.getLogger("gateway.serve")

VERSION = "0.1.0"
SHUTDOWN_GRACE_SECONDS = 10.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="start the HTTP gateway (the default command)",
        description=(
            "Start the HTTP gateway (and the admin gRPC API) and serve until SIGTERM/SIGINT. Running "
            "link-assistant-router with no command does the same. TOKEN_SECRET is required. Settings not "
            "offered as flags (named and API-key accounts, upstream timeouts, retries) go in the --config "
            "file."
        ),
    )
    parser.set_defaults(handler=run)


def secrets_of(config: RouterConfig, environ: Mapping[str, str]) -> list[str]:
    """Every secret value the process knows, so the log filter can mask it."""
    refs = [
        config.admin.token_secret,
        config.admin.admin_key,
        config.openai_compatible.api_key,
        config.gonka.private_key,
        config.redis.url,
    ]
    refs += [a.api_key for a in config.accounts] + [p.api_key for p in config.providers]
    found = [v for v in (resolve_secret(r, environ) for r in refs) if v]
    found += list(parse_previous(environ.get(PREVIOUS_SECRETS_ENV)))  # older signing secrets
    return found + ([environ[TEST_SECRET_ENV]] if environ.get(TEST_SECRET_ENV) else [])


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
    except DslError as err:
        for problem in err.problems:
            print(f"error: {problem.render()}", file=sys.stderr)
        return 2
    path = Path(settings.config_path).absolute() if settings.config_path else None
    # A reload resolves the settings again exactly as at start-up (same flags, environment, dotfiles).
    return serve(settings.config, os.environ, reload_from=(lambda: settings_from_args(args).config, path))


def serve(
    config: RouterConfig,
    environ: Mapping[str, str],
    on_ready: Callable[[str], None] | None = None,
    reload_from: tuple[Callable[[], RouterConfig], Path | None] | None = None,
) -> int:
    try:
        build_context(config, environ)  # fail fast on a missing TOKEN_SECRET, before logging setup
    except ConfigurationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    configure_logging(
        level_from(config.server.verbose, environ), config.server.json_logs, secrets_of(config, environ)
    )
    server = config.server
    problem = tls_problem(server.tls_cert_file, server.tls_key_file, server.admin_grpc_client_ca_file)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        tls = http_tls(server.tls_cert_file, server.tls_key_file)
    except (OSError, ssl.SSLError) as err:
        print(f"error: cannot load the TLS certificate and key: {err}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(config, environ, on_ready, tls, reload_from))
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were installed
        return 130
    except StoreError as err:  # e.g. a corrupt tokens.bin: say so, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 1
    except AdminServerError as err:  # the admin gRPC port is taken or not bindable
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(
            f"error: cannot listen on {config.server.host}:{config.server.port}: {err.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0


async def _serve(
    config: RouterConfig,
    environ: Mapping[str, str],
    on_ready: Callable[[str], None] | None,
    tls: tuple[ssl.SSLContext, Any] | None = None,
    reload_from: tuple[Callable[[], RouterConfig], Path | None] | None = None,
) -> None:
    app = build_app(config, environ, reload_from=reload_from)
    app[GATEWAY].shutdown_grace = SHUTDOWN_GRACE_SECONDS
    if tls is not None:
        app[RELOADERS].append(tls[1])
    runner = web.AppRunner(
        app,
        handle_signals=False,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        access_log=None,
        keepalive_timeout=config.server.keepalive_timeout,
    )
    await runner.setup()
    started = False
    try:
        limits = ConnectionLimits(
            header_timeout=config.server.header_timeout,
            keepalive_timeout=config.server.keepalive_timeout,
            max_connections=config.server.max_connections,
        )
        site = GuardedTCPSite(
            runner, config.server.host, config.server.port, limits, ssl_context=tls and tls[0]
        )
        await site.start()
        started = True
        host, port = _bound(runner, config)
        _log_banner(config, environ, host, port, tls is not None)
        if on_ready is not None:
            on_ready(f"{'https' if tls else 'http'}://{_display_host(host)}:{port}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task[Any]] = set()

        def on_hangup() -> None:
            log.info("SIGHUP: reloading the config")
            task = loop.create_task(app[RELOADER].reload("SIGHUP"))
            reloads.add(task)  # keep a reference until it is done
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hangup)
        await stop.wait()
        log.info("shutting down: finishing in-flight requests (up to %.0fs)", SHUTDOWN_GRACE_SECONDS)
    finally:
        await runner.cleanup()
        if started:
            log.info("stopped")


def _bound(runner: web.AppRunner, config: RouterConfig) -> tuple[str, int]:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return str(address[0]), int(address[1])
    return config.server.host, config.server.port


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _log_banner(
    config: RouterConfig, environ: Mapping[str, str], host: str, port: int, https: bool = False
) -> None:
    log.info("Link.Assistant.Router v%s", VERSION)
    for notice in startup.warnings(config):  # settings accepted but not acted on: said out loud
        log.warning("%s", notice.message)
    log.info("Upstream: %s (provider %s)", config.upstream.base_url, config.upstream.provider.value)
    for spec in account_specs(config, environ):
        where = (
            f"Claude Code home {spec.oauth_home}"
            if spec.oauth_home
            else f"API key {spec.api_key.describe()}"
            if spec.api_key
            else "no credential"
        )
        log.info("Account %s: %s", spec.name, where)
    log.info("Routing mode: %s, storage policy: %s", config.routing.mode.value, config.storage.policy.value)
    log.info("Listening on %s:%d%s", host, port, " (https)" if https else "")
