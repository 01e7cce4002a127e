"""Build the exchange for one app: the backend for `routing.mode`, picked once, and its collaborators."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from dsl.model import RouterConfig, RoutingMode
from gateway.accounts.pool import AccountPool
from gateway.clibackend.start import CliSettings
from gateway.exchange.cli import CliBackend, HybridBackend
from gateway.exchange.direct import DirectBackend
from gateway.exchange.inflight import InFlight
from gateway.exchange.interface import Backend
from gateway.exchange.pipeline import Authority, Exchange
from gateway.exchange.raw import RawBackend


def account_backend(
    config: RouterConfig,
    pool: AccountPool,
    session: Callable[[], aiohttp.ClientSession],
    environ: Mapping[str, str],
    data_dir: Path,
) -> Backend:
    direct = DirectBackend(config, pool, session)
    mode = config.routing.mode
    if mode is RoutingMode.DIRECT:
        return direct
    settings = CliSettings(
        environ, data_dir, config.upstream.base_url, config.routing.claude_cli_bin, config.upstream.timeouts
    )
    cli = CliBackend(direct, settings, config.routing.retry_before_first_byte)
    return cli if mode is RoutingMode.CLI else HybridBackend(cli)


def build_exchange(
    config: RouterConfig,
    tokens: Authority,
    pool: AccountPool,
    session: Callable[[], aiohttp.ClientSession],
    environ: Mapping[str, str],
    data_dir: Path,
    inflight: InFlight,
) -> Exchange:
    return Exchange(
        tokens=tokens,
        accounts=account_backend(config, pool, session, environ, data_dir),
        raw=RawBackend(session, config.upstream.timeouts),
        inflight=inflight,
        idle_timeout=config.upstream.timeouts.idle,
    )
