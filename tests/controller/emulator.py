"""kmock's in-memory Kubernetes, taught the few server behaviours the controller relies on.

kmock (by kopf's author) speaks the real HTTP API but merges dicts naively. On top of it this adds, for
tests only: server-side apply creating absent objects, uid/resourceVersion/generation stamping (generation
moves only when spec changes), ownerReference garbage collection on delete, watches from a resourceVersion
that do not replay existing objects, and injectable failures (e.g. a 409 Conflict) that happen *instead of*
the write, like on a real server.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import attrs
import kmock
from kmock._internal import dicts, enums

REASONS = {404: "NotFound", 409: "Conflict", 422: "Invalid", 500: "InternalError"}
RESOURCES = {
    "router.link-assistant.dev/v1alpha1/routerconfigs": ("RouterConfig", True),
    "v1/configmaps": ("ConfigMap", True),
    "v1/persistentvolumeclaims": ("PersistentVolumeClaim", True),
    "v1/services": ("Service", True),
    "v1/events": ("Event", True),
    "apps/v1/deployments": ("Deployment", True),
    "policy/v1/poddisruptionbudgets": ("PodDisruptionBudget", True),
    "coordination.k8s.io/v1/leases": ("Lease", True),
    "monitoring.coreos.com/v1/servicemonitors": ("ServiceMonitor", True),
}


@attrs.define(kw_only=True)
class ClusterEmulator(kmock.KubernetesEmulator):
    _versions: Any = attrs.field(factory=lambda: itertools.count(1), init=False)
    _latest: int = attrs.field(default=0, init=False)
    failures: dict[tuple[str, str], list[int]] = attrs.field(factory=lambda: defaultdict(list), init=False)
    # Off when the owners live in another server (the real CRD API server behind the test shim).
    garbage_collection: bool = True
    applies: list[dict[str, Any]] = attrs.field(factory=list, init=False)
    """Every server-side apply received: plural, name, fieldManager and body (kmock merges naively, so
    tests of field ownership check what was applied under which manager)."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for name, (kind, namespaced) in RESOURCES.items():
            self.resources[name] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)

    def fail(self, method: str, plural: str, *statuses: int) -> None:
        """Answer the next `method` requests on `plural` with these statuses, writing nothing."""
        self.failures[(method.upper(), plural)].extend(statuses)

    def _key(self, request: kmock.Request) -> Any:
        return (request.resource, request.namespace, request.name)

    def _next_version(self) -> str:
        self._latest = next(self._versions)
        return str(self._latest)

    def _stamp(self, request: kmock.Request) -> kmock.Request:
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            return request
        meta = data.setdefault("metadata", {})
        if request.action == enums.action.CREATE:
            meta["resourceVersion"] = self._next_version()
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("generation", 1)
            meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            if request.namespace:
                meta.setdefault("namespace", request.namespace)
        elif request.action == enums.action.UPDATE:
            current = self._objects[self._key(request)].raw
            merged = dicts.patch_dict(copy.deepcopy(current), data)
            old_gen = int((current.get("metadata") or {}).get("generation") or 1)
            spec_changed = request.subresource is None and merged.get("spec") != current.get("spec")
            meta["generation"] = old_gen + 1 if spec_changed else old_gen
            meta.pop("uid", None)  # identity never changes on update
            meta["resourceVersion"] = self._next_version()
        return request

    def _stale(self, request: kmock.Request) -> bool:
        """A write that names a resourceVersion must name the current one (optimistic concurrency)."""
        wanted = (
            ((request.data or {}).get("metadata") or {}).get("resourceVersion")
            if isinstance(request.data, dict)
            else None
        )
        current = (self._objects[self._key(request)].raw.get("metadata") or {}).get("resourceVersion")
        return wanted is not None and wanted != current

    def _status_response(self, status: int, message: str) -> aiohttp.web.Response:
        body = {
            "apiVersion": "v1",
            "kind": "Status",
            "status": "Failure",
            "code": status,
            "reason": REASONS.get(status, "InternalError"),
            "message": message,
        }
        return aiohttp.web.Response(status=status, text=json.dumps(body), content_type="application/json")

    def _unchanged(self, request: kmock.Request) -> bool:
        if not isinstance(request.data, dict):
            return False
        current = self._objects[self._key(request)].raw
        merged = dicts.patch_dict(copy.deepcopy(current), request.data)
        return bool(merged == current)

    async def _apply_create(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        """Server-side apply of an absent object creates it."""
        request = self._stamp(request)
        key = self._key(request)
        async with self._lock:
            if key in self._objects:
                self._objects[key].create(request.data)
            else:
                self._objects[key] = request.data
            raw = self._objects[key].raw
            assert request.resource is not None
            await self._buses[request.resource].put({"type": "ADDED", "object": raw})
            await self._collect_garbage()
        return aiohttp.web.json_response(raw, status=201)

    async def _collect_garbage(self) -> None:
        """Like the garbage collector: delete objects whose owners are all gone (repeat for chains)."""
        if not self.garbage_collection:
            return
        for _ in range(5):
            alive = {
                (o.raw.get("metadata") or {}).get("uid") for o in self._objects.values() if not o.deleted
            }
            doomed = [
                (resource, obj)
                for (resource, _ns, _name), obj in self._objects.items()
                if not obj.deleted
                and (owners := (obj.raw.get("metadata") or {}).get("ownerReferences") or [])
                and not any(o.get("uid") in alive for o in owners)
            ]
            if not doomed:
                return
            for resource, obj in doomed:
                raw = obj.raw
                obj.delete()
                await self._buses[resource].put({"type": "DELETED", "object": raw})

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource is not None:
            plural = str(request.resource.plural)
            queued = self.failures.get((enums.method(request.method).value, plural))
            if queued:
                status = queued.pop(0)
                return self._status_response(status, f"injected failure {status}")
            exists = self._key(request) in self._objects and not self._objects[self._key(request)].deleted
            applying = "apply-patch" in request.headers.get("Content-Type", "")
            if applying and not request.subresource:
                manager = request.params.get("fieldManager") if request.params else None
                record = {"plural": plural, "name": request.name, "manager": manager, "body": request.data}
                self.applies.append(record)
            if request.action == enums.action.UPDATE and applying and not exists and not request.subresource:
                return await self._apply_create(attrs.evolve(request, action=enums.action.CREATE))
            if request.action == enums.action.UPDATE and exists and self._stale(request):
                return self._status_response(
                    409,
                    "the object has been modified; please apply your changes to "
                    "the latest version and try again",
                )
            if request.action == enums.action.UPDATE and exists and self._unchanged(request):
                # A real server answers a no-op write without a new resourceVersion or a watch event.
                return aiohttp.web.json_response(self._objects[self._key(request)].raw)
            if request.action in (enums.action.CREATE, enums.action.UPDATE):
                request = self._stamp(request)
        response = await super()._handle(request)
        if request.action in (enums.action.CREATE, enums.action.UPDATE, enums.action.DELETE):
            async with self._lock:
                await self._collect_garbage()
        return response

    async def _serve_list(self, request: kmock.Request) -> Any:
        """kmock's list, with the store's real resourceVersion (where a watch continues from)."""
        latest = self._latest
        payload: dict[str, Any] = await super()._serve_list(request)  # type: ignore[assignment]  # a dict
        return {**payload, "metadata": {"resourceVersion": str(latest)}}

    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[Any]:
        """Like a real server, a watch from a resourceVersion sends only what changed after it (kmock
        replays every object as ADDED on each watch, which would hide a controller whose resync ignores
        its list). Objects put straight into the store carry no version: no watch ever reports them."""
        since = request.params.get("resourceVersion")
        if not since or not since.isdigit():
            async for item in super()._serve_watch(request):
                yield item
            return
        yield b""  # send the headers: the stream is open even if nothing happens
        assert request.resource is not None

        def wanted(raw: dict[str, Any]) -> bool:
            meta = raw.get("metadata") or {}
            namespace_ok = request.namespace is None or meta.get("namespace") == request.namespace
            return namespace_ok and (request.name is None or meta.get("name") == request.name)

        async with self._lock:
            changed = [
                obj.raw
                for (resource, _ns, _name), obj in self._objects.items()
                if resource == request.resource
                and not obj.deleted
                and wanted(obj.raw)
                and int((obj.raw.get("metadata") or {}).get("resourceVersion") or 0) > int(since)
            ]
        for raw in changed:
            yield {"type": "MODIFIED", "object": raw}
        async for event in self._buses[request.resource]:
            if wanted(event.get("object") or {}):
                yield event

    def live(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The current object, or None if absent/deleted."""
        for (resource, ns, obj_name), obj in self._objects.items():
            if resource.plural == plural and ns == namespace and obj_name == name and not obj.deleted:
                return dict(obj.raw)
        return None

    def all(self, plural: str) -> list[dict[str, Any]]:
        return [dict(o.raw) for (r, _, _), o in self._objects.items() if r.plural == plural and not o.deleted]
