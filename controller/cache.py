"""Watch-backed caches of the objects the controller reads, and the reader seam reconcile uses.

An `Informer` lists one kind (that list is also the periodic resync), then watches it for one window,
keeping an `ObjectCache` current and telling the runner which object changed. Reconcile reads through an
`ObjectReader`: `CacheReader` (the running controller: no API reads per reconcile) or `ApiReader` (one-off
reconciles in tests and tools). I/O only in the informer; no decisions here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from controller.kube import KubeApiError, KubeClient, object_path

log = logging.getLogger(__name__)

ObjKey = tuple[str, str]
Kind = tuple[str, str]  # (apiVersion, kind)


def _key(obj: Mapping[str, Any]) -> ObjKey:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _version(obj: Mapping[str, Any]) -> int:
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else -1


class ObjectCache:
    """The latest known state of every object of one kind, by (namespace, name); thread-safe."""

    def __init__(self) -> None:
        self._items: dict[ObjKey, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.synced = threading.Event()

    def replace(self, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self._items = {_key(item): item for item in items}
        self.synced.set()

    def upsert(self, obj: dict[str, Any]) -> None:
        """Store `obj` unless the cache already holds a newer version (a late watch event)."""
        key = _key(obj)
        with self._lock:
            old = self._items.get(key)
            if old is None or _version(obj) < 0 or _version(obj) >= _version(old):
                self._items[key] = obj

    def remove(self, obj: Mapping[str, Any]) -> None:
        with self._lock:
            self._items.pop(_key(obj), None)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._items.get((namespace, name))

    def values(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items.values())


class ObjectReader(Protocol):
    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None: ...

    def wrote(self, obj: dict[str, Any]) -> None:
        """The object as the API returned it after a write (a cache stores it at once)."""


class ApiReader:
    """Reads straight from the API (a GET per call)."""

    def __init__(self, kube: KubeClient) -> None:
        self._kube = kube

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        return self._kube.get(object_path(kind[0], kind[1], namespace, name))

    def wrote(self, obj: dict[str, Any]) -> None:
        return None


@dataclass
class CacheReader:
    """Reads from the informers' caches; a kind without an informer falls back to the API."""

    caches: dict[Kind, ObjectCache]
    fallback: ApiReader

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        cache = self.caches.get(kind)
        if cache is None or not cache.synced.is_set():
            return self.fallback.get(kind, namespace, name)
        return cache.get(namespace, name)

    def wrote(self, obj: dict[str, Any]) -> None:
        cache = self.caches.get((str(obj.get("apiVersion")), str(obj.get("kind"))))
        if cache is not None and obj.get("metadata"):
            cache.upsert(obj)


@dataclass
class Informer:
    """List + watch one kind into `cache`, calling `changed(obj)` for every listed or changed object."""

    kube: KubeClient
    kind: Kind
    namespace: str | None
    changed: Callable[[dict[str, Any]], None]
    stop: threading.Event
    window_seconds: float
    selector: str = ""
    cache: ObjectCache = field(default_factory=ObjectCache)
    quiet_statuses: tuple[int, ...] = ()  # e.g. 404 for an optional CRD: retried, logged once

    def _stamp(self, obj: dict[str, Any]) -> dict[str, Any]:
        # Items of a list carry no apiVersion/kind; the cache's readers compare whole objects.
        return {"apiVersion": self.kind[0], "kind": self.kind[1], **obj}

    def run(self) -> None:
        """List (queueing everything: the resync), then watch for one window; repeat until stopped."""
        path = object_path(self.kind[0], self.kind[1], self.namespace)
        window = max(1, int(self.window_seconds))
        warned = False
        while not self.stop.is_set():
            try:
                items, version = self.kube.list(path, self.selector)
                self.cache.replace([self._stamp(item) for item in items])
                warned = False
                for item in items:
                    self.changed(item)
                deadline = time.monotonic() + window
                for event in self.kube.watch(path, version, window, self.selector):
                    if self.stop.is_set() or time.monotonic() > deadline + 1:
                        break
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind in ("ADDED", "MODIFIED"):
                        self.cache.upsert(self._stamp(obj))
                    elif kind == "DELETED":
                        self.cache.remove(obj)
                    else:
                        continue
                    self.changed(obj)
            except KubeApiError as exc:
                if exc.status not in self.quiet_statuses or not warned:
                    log.warning("%s watch failed (%s); listing again shortly", self.kind[1], exc)
                warned = True
                self.stop.wait(min(5.0, self.window_seconds))
            except Exception:  # this thread is also the resync: it must outlive any surprise
                log.exception("%s watch crashed; listing again shortly", self.kind[1])
                self.stop.wait(min(5.0, self.window_seconds))
