"""Reconcile one RouterConfig: read it, validate, write the children that differ, write status
(level-triggered).

Each call looks only at the current state, so running it twice, late, or after a missed event gives the
same result. Reads go through an `ObjectReader` (the informers' caches in the running controller); a
child is written only when its desired state differs from the live one, and never when an object of that
name belongs to someone else. Decisions come from the pure modules; this module sequences the API calls.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller import names
from controller.cache import ApiReader, ObjectReader
from controller.configcheck import ConfigCheck, check_resource, config_hash
from controller.drift import needs_write, owned_by, stamped
from controller.events import NORMAL, WARNING, build_event
from controller.kube import KubeApiError, KubeClient, object_path
from controller.render import optional_children, render_children
from controller.spec import RouterConfigResource, SpecError, parse_resource
from controller.status import CONFIG_VALID, MAX_MESSAGE, READY, compute_status, status_changed
from dsl.errors import Problem
from dsl.model import RouterConfig

log = logging.getLogger(__name__)

ROUTER_CONFIG = (names.API_VERSION, names.KIND)
CONFIG_MAP = ("v1", "ConfigMap")
DEPLOYMENT = ("apps/v1", "Deployment")
NOT_OWNED = "NotOwned"


@dataclass(frozen=True)
class Outcome:
    """What one reconcile did (for logs and tests)."""

    found: bool
    valid: bool = False
    applied: int = 0
    status_written: bool = False


@dataclass(frozen=True)
class _Applied:
    deployment: dict[str, Any] | None
    written: int
    failure: str | None = None
    failure_reason: str = "ApplyFailed"
    note: str = ""


def _condition_is(previous: dict[str, Any], kind: str, reason: str, message: str) -> bool:
    for cond in previous.get("conditions") or []:
        if cond.get("type") == kind:
            return bool(cond.get("reason") == reason and cond.get("message") == message[:MAX_MESSAGE])
    return False


def resolve_config(
    reader: ObjectReader, resource: RouterConfigResource
) -> tuple[RouterConfigResource, Problem | None]:
    """The resource with its config text filled in from `spec.configFrom`, or why it could not be read."""
    ref = resource.config_from
    if ref is None:
        return resource, None
    source = reader.get(CONFIG_MAP, resource.namespace, ref.name)
    text = ((source or {}).get("data") or {}).get(ref.key)
    if source is None:
        return resource, Problem(f"ConfigMap {ref.name} does not exist", file="spec.configFrom")
    if not isinstance(text, str) or not text:
        return resource, Problem(f"ConfigMap {ref.name} has no key {ref.key!r}", file="spec.configFrom")
    return dataclasses.replace(resource, config=text), None


def _live(kube: KubeClient, reader: ObjectReader, child: dict[str, Any]) -> dict[str, Any] | None:
    """The live child; the caches only hold labelled objects, so an absence is confirmed by a read
    (an unlabelled object of that name must be found before anything is created over it)."""
    meta = child["metadata"]
    kind = (child["apiVersion"], child["kind"])
    live = reader.get(kind, meta["namespace"], meta["name"])
    if live is None and not isinstance(reader, ApiReader):
        live = kube.get(object_path(kind[0], kind[1], meta["namespace"], meta["name"]))
    return live


def _still_there(kube: KubeClient, reader: ObjectReader, resource: RouterConfigResource) -> bool:
    """Before creating a child, make sure the RouterConfig was not deleted after the cache last heard of
    it (a child created for a deleted owner would only be garbage-collected again)."""
    if isinstance(reader, ApiReader):
        return True
    obj = kube.get(object_path(names.API_VERSION, names.KIND, resource.namespace, resource.name))
    meta = (obj or {}).get("metadata") or {}
    return obj is not None and meta.get("uid") == resource.uid and not meta.get("deletionTimestamp")


def _apply_children(
    kube: KubeClient, reader: ObjectReader, resource: RouterConfigResource, config: RouterConfig
) -> _Applied:
    """Write every child whose desired state differs from the live one.

    Retryable API errors propagate (the loop backs off); a rejected object (4xx) is returned as a
    failure to report in status, and so is an object of a child's name this RouterConfig does not own
    (left exactly as it is). A missing ServiceMonitor CRD only costs the monitor.
    """
    deployment, written, note = None, 0, ""
    for manifest in render_children(resource, config):
        child = stamped(manifest)
        kind, name = child["kind"], child["metadata"]["name"]
        try:
            live = _live(kube, reader, child)
            if live is not None and not owned_by(live, resource.uid):
                failure = f"{kind} {name} already exists and is not owned by this RouterConfig; left alone"
                return _Applied(deployment, written, failure + " (delete or rename it)", NOT_OWNED, note)
            if live is None and not _still_there(kube, reader, resource):
                return _Applied(deployment, written, note=note)  # deleted meanwhile: create nothing
            if needs_write(child, live):
                live = kube.apply(child)
                reader.wrote(live)
                written += 1
        except KubeApiError as exc:
            if exc.retryable:
                raise
            if kind == "ServiceMonitor" and exc.status == 404:
                note = "; no ServiceMonitor: the monitoring.coreos.com CRD is not installed"
                continue
            return _Applied(deployment, written, f"{kind} {name} rejected: {exc}", note=note)
        if kind == "Deployment":
            deployment = live
    for api_version, kind, wanted in optional_children(resource, config):
        if not wanted:
            _drop_owned(kube, reader, resource, api_version, kind)
    return _Applied(deployment, written, note=note)


def _post_event(kube: KubeClient, event: dict[str, Any]) -> None:
    try:
        kube.create_event(event)
    except KubeApiError as exc:  # events are best effort: never fail a reconcile for one
        log.warning("could not post event %s: %s", event["reason"], exc)


def _drop_owned(
    kube: KubeClient, reader: ObjectReader, resource: RouterConfigResource, api_version: str, kind: str
) -> None:
    """Delete a child the spec no longer wants (only if this RouterConfig owns it)."""
    try:
        existing = reader.get((api_version, kind), resource.namespace, resource.name)
        if existing is not None and owned_by(existing, resource.uid):
            kube.delete(object_path(api_version, kind, resource.namespace, resource.name))
    except KubeApiError as exc:
        if exc.status not in (403, 404):  # the kind is not served here (no CRD), or not allowed
            raise


def _check(
    obj: dict[str, Any], namespace: str, reader: ObjectReader, default_image: str
) -> tuple[RouterConfigResource, ConfigCheck]:
    try:
        resource, missing = resolve_config(reader, parse_resource(obj, default_image))
    except SpecError as exc:
        meta = obj.get("metadata") or {}
        resource = RouterConfigResource(
            name=str(meta.get("name")),
            namespace=namespace,
            config="",
            uid=str(meta.get("uid") or ""),
            generation=int(meta.get("generation") or 0),
        )
        return resource, ConfigCheck(config=None, problems=(Problem(str(exc), file="spec"),))
    if missing is not None:
        return resource, ConfigCheck(config=None, problems=(missing,))
    return resource, check_resource(resource)


def reconcile(
    kube: KubeClient,
    namespace: str,
    name: str,
    now: Callable[[], str],
    default_image: str = names.DEFAULT_IMAGE,
    reader: ObjectReader | None = None,
) -> Outcome:
    """Bring one RouterConfig's children and status in line with its spec. Raises KubeApiError."""
    reader = reader or ApiReader(kube)
    obj = reader.get(ROUTER_CONFIG, namespace, name)
    if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
        return Outcome(found=False)  # children go with it: they carry ownerReferences
    previous: dict[str, Any] = dict(obj.get("status") or {})
    resource, check = _check(obj, namespace, reader, default_image)

    if check.valid and check.config is not None:
        result = _apply_children(kube, reader, resource, check.config)
        if result.failure is not None:
            deployment = reader.get(DEPLOYMENT, namespace, name)
            if not _condition_is(previous, READY, result.failure_reason, result.failure):
                _post_event(
                    kube, build_event(resource, WARNING, result.failure_reason, result.failure, now())
                )
        elif previous.get("configHash") != config_hash(resource.config):
            deployment = result.deployment
            _post_event(kube, build_event(resource, NORMAL, "ConfigApplied", "gateway config applied", now()))
        else:
            deployment = result.deployment
    else:
        # Leave the running Deployment and its ConfigMap exactly as they are: the pods keep serving.
        result = _Applied(None, 0)
        deployment = reader.get(DEPLOYMENT, namespace, name)
        if not _condition_is(previous, CONFIG_VALID, "InvalidConfig", check.message()):
            _post_event(kube, build_event(resource, WARNING, "InvalidConfig", check.message(), now()))

    status = compute_status(
        resource,
        check,
        deployment,
        previous,
        now(),
        failure=result.failure,
        note=result.note,
        failure_reason=result.failure_reason,
    )
    written = status_changed(previous, status)
    if written:
        reader.wrote(kube.patch_status(namespace, name, status))
    if result.failure is not None and result.failure_reason != NOT_OWNED:
        raise KubeApiError(422, "ApplyFailed", result.failure)  # reported; the loop retries with backoff
    return Outcome(found=True, valid=check.valid, applied=result.written, status_written=written)
