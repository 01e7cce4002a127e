"""The controller loop: informers (list + watch) keep caches of RouterConfigs, the ConfigMaps they read
and their children; a worker reconciles queued keys with retries and backoff.

Level-triggered: events only say *which* RouterConfig to look at (a child's owner, or the RouterConfigs
whose `configFrom` names a changed ConfigMap); every window each informer lists again, so a missed event
is repaired by the next resync, and a settled object's resync writes nothing. Threads are bounded by a
stop event and by watch timeouts; the worker is the only thread that writes to the API.
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
from controller.cache import ApiReader, CacheReader, Informer, Kind
from controller.health import LoopStats
from controller.kube import KubeApiError, KubeClient
from controller.leader import LeaderElector
from controller.metrics import ControllerMetrics
from controller.reconcile import CONFIG_MAP, ROUTER_CONFIG, reconcile
from controller.workqueue import Key, WorkQueue

log = logging.getLogger(__name__)

# The children the controller writes; each is watched (by the managed-by label) so drift is repaired.
CHILD_KINDS: tuple[Kind, ...] = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
)


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


def _reads_config_map(router_config: dict[str, Any], namespace: str, name: str) -> bool:
    meta = router_config.get("metadata") or {}
    source = ((router_config.get("spec") or {}).get("configFrom") or {}).get("configMapKeyRef") or {}
    return bool(meta.get("namespace") == namespace and source.get("name") == name)


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
    informers: dict[Kind, Informer] = field(default_factory=dict)
    metrics: ControllerMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = ControllerMetrics(
            queue_depth=lambda: float(len(self.queue)), idle_seconds=lambda: time.monotonic() - self.heartbeat
        )
        owned = f"app.kubernetes.io/managed-by={names.FIELD_MANAGER}"
        plan: list[tuple[Kind, str, Callable[[dict[str, Any]], None]]] = [
            (ROUTER_CONFIG, "", self._queue_own),
            # Unlabelled: a configFrom source is the user's ConfigMap; our own child is one of them too.
            (CONFIG_MAP, "", self._queue_config_map),
            *((kind, owned, self._queue_owner) for kind in CHILD_KINDS),
        ]
        for kind, selector, changed in plan:
            self.informers[kind] = Informer(
                kube=self.kube,
                kind=kind,
                namespace=self.namespace,
                changed=changed,
                stop=self.stop,
                window_seconds=self.resync_seconds,
                selector=selector,
                quiet_statuses=(404,) if kind[1] == "ServiceMonitor" else (),
            )
        self.reader = CacheReader({k: i.cache for k, i in self.informers.items()}, ApiReader(self.kube))

    def _queue_own(self, obj: dict[str, Any]) -> None:
        key = _own_key(obj)
        if key:
            self.queue.add(key)

    def _queue_owner(self, obj: dict[str, Any]) -> None:
        key = _owner_key(obj)
        if key:
            self.queue.add(key)

    def _queue_config_map(self, obj: dict[str, Any]) -> None:
        self._queue_owner(obj)
        meta = obj.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        for router_config in self.informers[ROUTER_CONFIG].cache.values():
            if _reads_config_map(router_config, namespace, name):
                self._queue_own(router_config)

    def process_one(self, timeout: float = 1.0) -> bool:
        """Reconcile the next due key, if any; False when nothing was due within `timeout`."""
        self.heartbeat = time.monotonic()
        key = self.queue.get(timeout)
        if key is None:
            return False
        namespace, name = key
        started = time.monotonic()
        try:
            outcome = reconcile(self.kube, namespace, name, self.now, self.default_image, self.reader)
        except KubeApiError as exc:
            self.failed += 1
            self.metrics.observe(started, ok=False, reason=exc.reason)
            delay = self.queue.retry(key)
            log.warning("reconcile %s/%s failed (%s); retrying in %.1fs", namespace, name, exc, delay)
            return True
        except Exception:  # a bug must not kill the loop: log it and back off like an API failure
            self.failed += 1
            self.metrics.observe(started, ok=False, reason="crash")
            delay = self.queue.retry(key)
            log.exception("reconcile %s/%s crashed; retrying in %.1fs", namespace, name, delay)
            return True
        self.metrics.observe(started, ok=True, written=outcome.applied)
        self.queue.forget(key)
        self.reconciled += 1
        log.info("reconciled %s/%s: %s", namespace, name, outcome)
        return True

    def start_watchers(self) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=informer.run, daemon=True, name=f"watch-{kind[1].lower()}")
            for kind, informer in self.informers.items()
        ]
        for thread in threads:
            thread.start()
        return threads

    def _wait_for_caches(self) -> None:
        """Reconcile only once the core caches hold a first list (an optional kind, like a missing
        ServiceMonitor CRD, may never list: reads of it go to the API instead)."""
        for kind in (ROUTER_CONFIG, CONFIG_MAP, *CHILD_KINDS[:3]):
            while not self.stop.is_set() and not self.informers[kind].cache.synced.wait(0.5):
                self.heartbeat = time.monotonic()

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
            self._wait_for_caches()
            while not self.stop.is_set():
                self.process_one(timeout=1.0)
        finally:
            self.shutdown()
            if self.elector is not None and not self.lost_leadership:
                self.elector.release()
            for thread in threads:
                thread.join(timeout=0.1)
