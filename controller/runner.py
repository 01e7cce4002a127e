"""The controller loop: watch RouterConfigs and their Deployments, resync periodically, reconcile with
retries and backoff.

Level-triggered: events only say *which* object to look at; every window the full list is queued again,
so a missed event is repaired by the next resync. Threads are bounded by a stop event and by watch
timeouts; the worker is the only thread that writes to the API.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller import names
from controller.health import LoopStats
from controller.kube import KubeApiError, KubeClient, object_path
from controller.leader import LeaderElector
from controller.reconcile import reconcile
from controller.workqueue import Key, WorkQueue

log = logging.getLogger(__name__)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_key(obj: dict[str, Any]) -> Key | None:
    meta = obj.get("metadata") or {}
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == names.KIND and owner.get("apiVersion") == names.API_VERSION:
            return (str(meta.get("namespace") or ""), str(owner.get("name")))
    return None


def _own_key(obj: dict[str, Any]) -> Key | None:
    meta = obj.get("metadata") or {}
    if not meta.get("name"):
        return None
    return (str(meta.get("namespace") or "default"), str(meta["name"]))


@dataclass
class Controller:
    kube: KubeClient
    namespace: str | None = None
    resync_seconds: float = 30.0
    default_image: str = names.DEFAULT_IMAGE
    now: Callable[[], str] = utc_now
    queue: WorkQueue = field(default_factory=WorkQueue)
    stop: threading.Event = field(default_factory=threading.Event)
    heartbeat: float = field(default_factory=time.monotonic)
    reconciled: int = 0
    failed: int = 0
    elector: LeaderElector | None = None
    lost_leadership: bool = False

    def _watch_loop(
        self, path: str, selector: str, to_key: Callable[[dict[str, Any]], Key | None], label: str
    ) -> None:
        """List (queueing everything: the resync), then watch for one window; repeat until stopped."""
        window = max(1, int(self.resync_seconds))
        while not self.stop.is_set():
            try:
                items, version = self.kube.list(path, selector)
                for item in items:
                    key = to_key(item)
                    if key:
                        self.queue.add(key)
                deadline = time.monotonic() + window
                for event in self.kube.watch(path, version, window, selector):
                    if self.stop.is_set() or time.monotonic() > deadline + 1:
                        break
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        key = to_key(event.get("object") or {})
                        if key:
                            self.queue.add(key)
            except KubeApiError as exc:
                log.warning("%s watch failed (%s); listing again shortly", label, exc)
                self.stop.wait(min(5.0, self.resync_seconds))
            except Exception:  # this thread is also the resync: it must outlive any surprise
                log.exception("%s watch crashed; listing again shortly", label)
                self.stop.wait(min(5.0, self.resync_seconds))

    def process_one(self, timeout: float = 1.0) -> bool:
        """Reconcile the next due key, if any; False when nothing was due within `timeout`."""
        self.heartbeat = time.monotonic()
        key = self.queue.get(timeout)
        if key is None:
            return False
        namespace, name = key
        try:
            outcome = reconcile(self.kube, namespace, name, self.now, self.default_image)
        except KubeApiError as exc:
            self.failed += 1
            delay = self.queue.retry(key)
            log.warning("reconcile %s/%s failed (%s); retrying in %.1fs", namespace, name, exc, delay)
            return True
        except Exception:  # a bug must not kill the loop: log it and back off like an API failure
            self.failed += 1
            delay = self.queue.retry(key)
            log.exception("reconcile %s/%s crashed; retrying in %.1fs", namespace, name, delay)
            return True
        self.queue.forget(key)
        self.reconciled += 1
        log.info("reconciled %s/%s: %s", namespace, name, outcome)
        return True

    def start_watchers(self) -> list[threading.Thread]:
        configs = object_path(names.API_VERSION, names.KIND, self.namespace)
        deployments = object_path("apps/v1", "Deployment", self.namespace)
        owned = f"app.kubernetes.io/managed-by={names.FIELD_MANAGER}"
        threads = [
            threading.Thread(
                target=self._watch_loop,
                args=(configs, "", _own_key, "RouterConfig"),
                daemon=True,
                name="watch-routerconfigs",
            ),
            threading.Thread(
                target=self._watch_loop,
                args=(deployments, owned, _owner_key, "Deployment"),
                daemon=True,
                name="watch-deployments",
            ),
        ]
        for thread in threads:
            thread.start()
        return threads

    def stats(self) -> LoopStats:
        return LoopStats(self.reconciled, self.failed, len(self.queue), time.monotonic() - self.heartbeat)

    def shutdown(self) -> None:
        """Ask `run` to return soon: wakes the worker and ends open watches (thread- and signal-safe)."""
        self.stop.set()
        self.queue.close()
        self.kube.interrupt_watches()

    def _campaign(self) -> bool:
        """Wait until this replica leads (True), or until stopped (False)."""
        assert self.elector is not None
        announced = False
        while not self.stop.is_set():
            self.heartbeat = time.monotonic()  # a healthy standby is alive, just not leading
            try:
                if self.elector.try_lead():
                    log.info("leading as %s", self.elector.identity)
                    return True
                if not announced:
                    log.info("standing by: another controller holds the lease")
                    announced = True
            except KubeApiError as exc:
                log.warning("leader election failed (%s); trying again", exc)
            self.stop.wait(self.elector.duration_seconds / 3)
        return False

    def _keep_leading(self) -> None:
        """Renew the lease; if another replica took it, or renewing failed for a whole lease term, stop."""
        assert self.elector is not None
        renewed = time.monotonic()
        while not self.stop.wait(self.elector.duration_seconds / 3):
            try:
                if self.elector.try_lead():
                    renewed = time.monotonic()
                    continue
                log.error("lost the lease to another controller; stopping")
            except KubeApiError as exc:
                if time.monotonic() - renewed < self.elector.duration_seconds:
                    log.warning("could not renew the lease (%s); still within its term", exc)
                    continue
                log.error("could not renew the lease for a whole term (%s); stopping", exc)
            self.lost_leadership = True
            self.shutdown()
            return

    def run(self) -> None:
        """Run until `stop` is set (with leader election: only while leading)."""
        if self.elector is not None:
            if not self._campaign():
                return
            threading.Thread(target=self._keep_leading, daemon=True, name="lease").start()
        threads = self.start_watchers()
        try:
            while not self.stop.is_set():
                self.process_one(timeout=1.0)
        finally:
            self.shutdown()
            if self.elector is not None and not self.lost_leadership:
                self.elector.release()
            for thread in threads:
                thread.join(timeout=0.1)
