"""Reload the running gateway's config: on a file change (polled; a ConfigMap's `..data` link swap
counts), on SIGHUP, or on an admin request.

The file is read, parsed and validated in a worker thread, off the event loop. Invalid: every problem
is logged with its line and column, the old config keeps serving, and the metric and `/ready` say the
last reload failed. A change to a restart-only key (a listener port...) is reported as such and nothing
is applied. Otherwise the new config is swapped in one step between two requests: requests and streams
already running keep the config values and account objects they started with; accounts whose credential
did not change keep their state. Reloads are serialised by a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from dsl.errors import DslError, DslValidationError, Problem
from dsl.model import RouterConfig
from gateway.accounts.build import build_account_pool, policy_of
from gateway.accounts.pool import POOL, AccountPool
from gateway.context import GATEWAY, HTTP_SESSION, GatewayContext
from gateway.reload.accounts import carry_over, unchanged_credentials
from gateway.reload.diff import ConfigDiff, diff_configs
from gateway.telemetry.metrics import METRICS

log = logging.getLogger("gateway.reload")
DEFAULT_POLL_SECONDS = 1.0  # one stat() a second; a ConfigMap update takes the kubelet far longer


class Outcome(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    INVALID = "invalid"
    RESTART_REQUIRED = "restart-required"


@dataclass(frozen=True)
class ReloadResult:
    outcome: Outcome
    trigger: str
    at: float
    changes: tuple[str, ...] = ()
    restart_keys: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.INVALID, Outcome.RESTART_REQUIRED)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "trigger": self.trigger,
            "at": round(self.at, 3),
            "changes": list(self.changes),
            "restart_required": list(self.restart_keys),
            "problems": list(self.problems),
        }


def file_signature(path: Path) -> tuple[str, int, int, int] | None:
    """What changes when the file does: the resolved target (a `..data` swap), inode, size, mtime."""
    try:
        stat = os.stat(path)  # follows links, so a swapped `..data` shows a new inode
        return (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:
        return None


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.reloads = Counter(
            "link_assistant_config_reloads", "Config reloads by outcome.", ["outcome"], registry=registry
        )
        self.failed = Gauge(
            "link_assistant_config_last_reload_failed",
            "1 when the last config reload was refused (invalid, or it needed a restart).",
            registry=registry,
        )
        for outcome in Outcome:
            self.reloads.labels(outcome=outcome.value)


def _no_pool() -> AccountPool | None:
    return None


def _no_session() -> aiohttp.ClientSession:
    raise RuntimeError("no upstream session")


@dataclass
class Reloader:
    ctx: GatewayContext
    load: Callable[[], RouterConfig]
    """Loads the effective config again (same flags and environment as at start-up); may raise DslError."""
    path: Path | None = None
    pool: Callable[[], AccountPool | None] = _no_pool
    """The running account pool (made at start-up, so read when a reload happens)."""
    session: Callable[[], aiohttp.ClientSession] = _no_session
    clock: Callable[[], float] = time.time
    last: ReloadResult | None = None
    on_applied: list[Callable[[RouterConfig], None]] = field(default_factory=list)
    """Called with the new config inside the swap (the app rebuilds its request pipeline here)."""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _metrics: _Metrics | None = None

    def attach_metrics(self, registry: CollectorRegistry) -> None:
        """Export the reload counters through the gateway's /metrics registry."""
        self._metrics = _Metrics(registry)

    def detail(self) -> dict[str, Any]:
        """For `/ready` and `GET /admin/reload`: whether the last reload failed, and why."""
        watching = self.path is not None and self.ctx.config.features.hot_reload
        body: dict[str, Any] = {
            "last_reload_failed": bool(self.last and self.last.failed),
            "watching": watching,
        }
        if self.last is not None:
            body["last_reload"] = self.last.to_json()
        return body

    async def reload(self, trigger: str) -> ReloadResult:
        async with self._lock:
            result = await self._reload(trigger)
        self.last = result  # "unchanged" too: a file put back to the running config clears a failure
        if self._metrics is not None:
            self._metrics.reloads.labels(outcome=result.outcome.value).inc()
            self._metrics.failed.set(1 if result.failed else 0)
        return result

    async def _reload(self, trigger: str) -> ReloadResult:
        loop = asyncio.get_running_loop()
        try:
            new = await loop.run_in_executor(None, self.load)  # parsing stays off the event loop
        except (DslError, RecursionError) as err:  # RecursionError: nested too deeply to parse
            found = (
                err.problems if isinstance(err, DslError) else [Problem("the config is nested too deeply")]
            )
            problems = tuple(p.render() for p in found)
            for problem in problems:
                log.error("config reload (%s) refused, keeping the running config: %s", trigger, problem)
            return ReloadResult(Outcome.INVALID, trigger, self.clock(), problems=problems)
        diff = diff_configs(self.ctx.config, new)
        changes = tuple(c.render() for c in diff.changes)
        if diff.empty:
            log.info("config reload (%s): no changes", trigger)
            return ReloadResult(Outcome.UNCHANGED, trigger, self.clock())
        if diff.restart_keys:
            log.warning(
                "config reload (%s) not applied: %s need a restart; the running config is unchanged",
                trigger,
                ", ".join(diff.restart_keys),
            )
            return ReloadResult(
                Outcome.RESTART_REQUIRED, trigger, self.clock(), changes, restart_keys=diff.restart_keys
            )
        self._apply(new, diff)
        log.info("config reloaded (%s): %d change(s): %s", trigger, len(changes), "; ".join(changes))
        return ReloadResult(Outcome.APPLIED, trigger, self.clock(), changes)

    def _apply(self, new: RouterConfig, diff: ConfigDiff) -> None:
        """One synchronous step (no await): no request sees half of it."""
        ctx, old = self.ctx, self.ctx.config
        pool = self.pool()
        if pool is not None and any(
            c.key.startswith(("accounts", "upstream", "routing")) for c in diff.changes
        ):
            fresh = build_account_pool(new, ctx.environ, ctx.data_dir, self.session)
            accounts, states = carry_over(
                pool.accounts,
                pool.states(),
                fresh.accounts,
                fresh.states(),
                unchanged_credentials(old, new, ctx.environ),
            )
            pool.replace_accounts(
                accounts, states, new.routing.strategy, policy_of(new.routing), new.routing.session_affinity
            )
        ctx.config = new
        for hook in self.on_applied:
            hook(new)

    async def watch(self, interval: float = DEFAULT_POLL_SECONDS) -> None:
        """Poll the config file until cancelled; reload when it changes (and hot reload is on)."""
        if self.path is None:
            return
        seen = file_signature(self.path)
        while True:
            await asyncio.sleep(interval)
            if not self.ctx.config.features.hot_reload:
                seen = file_signature(self.path)  # `hot-reload off`: SIGHUP and admin requests only
                continue
            now = file_signature(self.path)
            if now is not None and now != seen:
                seen = now
                try:
                    await self.reload("file changed")
                except Exception:  # the watch must outlive a surprise; the next change is tried again
                    log.exception("config reload (file changed) failed; keeping the running config")


RELOADER = web.AppKey("reloader", Reloader)


def add_reloader(
    app: web.Application, load: Callable[[], RouterConfig] | None, path: Path | None
) -> Reloader:
    """Wire a `Reloader` into the app; its file watch lives in the app's `cleanup_ctx`."""
    reloader = Reloader(
        app[GATEWAY], load or _no_source, path, pool=lambda: app.get(POOL), session=lambda: app[HTTP_SESSION]
    )
    app[RELOADER] = reloader

    async def watching(app: web.Application) -> AsyncIterator[None]:
        metrics = app.get(METRICS)  # made by an earlier cleanup_ctx when features.metrics is on
        if metrics is not None:
            reloader.attach_metrics(metrics.registry)
        task = asyncio.create_task(reloader.watch(), name="config-watch") if path is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.cleanup_ctx.append(watching)
    return reloader


def _no_source() -> RouterConfig:
    raise DslValidationError([Problem("the gateway was started without a config file: nothing to reload")])
