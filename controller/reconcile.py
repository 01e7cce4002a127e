"""Reconcile one RouterConfig: read it, validate, apply its children, write status (level-triggered).

Each call looks only at the current state, so running it twice, late, or after a missed event gives the
same result. Decisions come from the pure modules; this module only sequences the API calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controller import names
from controller.configcheck import ConfigCheck, check_resource, config_hash
from controller.events import NORMAL, WARNING, build_event
from controller.kube import KubeApiError, KubeClient, object_path
from controller.render import optional_children, render_children
from controller.sidecar_apply import apply_sidecar, release_sidecars, target_path
from controller.spec import RouterConfigResource, SpecError, parse_resource
from controller.status import CONFIG_VALID, MAX_MESSAGE, READY, compute_status, status_changed
from dsl.errors import Problem
from dsl.model import RouterConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one reconcile did (for logs and tests)."""

    found: bool
    valid: bool = False
    applied: int = 0
    status_written: bool = False


def _was_invalid_with(previous: dict[str, Any], message: str) -> bool:
    for cond in previous.get("conditions") or []:
        if cond.get("type") == CONFIG_VALID:
            return bool(cond.get("status") == "False" and cond.get("message") == message[:MAX_MESSAGE])
    return False


def _was_failing_with(previous: dict[str, Any], failure: str) -> bool:
    for cond in previous.get("conditions") or []:
        if cond.get("type") == READY:
            return bool(cond.get("reason") == "ApplyFailed" and cond.get("message") == failure[:MAX_MESSAGE])
    return False


def _apply_children(
    kube: KubeClient, resource: RouterConfigResource, config: RouterConfig
) -> tuple[dict[str, Any] | None, int, str | None, str]:
    """Apply every child; (live Deployment, how many applied, a permanent failure, a note for status).

    Retryable API errors propagate (the loop backs off); a rejected object (4xx) is returned as a
    failure to report in status. A missing ServiceMonitor CRD only costs the monitor.
    """
    deployment, applied, note = None, 0, ""
    for child in render_children(resource, config):
        try:
            live = kube.apply(child)
        except KubeApiError as exc:
            if exc.retryable:
                raise
            if child["kind"] == "ServiceMonitor" and exc.status == 404:
                note = "; no ServiceMonitor: the monitoring.coreos.com CRD is not installed"
                continue
            return deployment, applied, f"{child['kind']} {child['metadata']['name']} rejected: {exc}", note
        applied += 1
        if child["kind"] == "Deployment":
            deployment = live
    for api_version, kind, wanted in optional_children(resource, config):
        if not wanted:
            _drop_owned(kube, resource, api_version, kind)
    return deployment, applied, None, note


def _post_event(kube: KubeClient, event: dict[str, Any]) -> None:
    try:
        kube.create_event(event)
    except KubeApiError as exc:  # events are best effort: never fail a reconcile for one
        log.warning("could not post event %s: %s", event["reason"], exc)


def _drop_owned(kube: KubeClient, resource: RouterConfigResource, api_version: str, kind: str) -> None:
    """Delete a child the spec no longer wants (only if this RouterConfig owns it)."""
    path = object_path(api_version, kind, resource.namespace, resource.name)
    try:
        existing = kube.get(path)
        owners = ((existing or {}).get("metadata") or {}).get("ownerReferences") or []
        if any(o.get("uid") == resource.uid for o in owners):
            kube.delete(path)
    except KubeApiError as exc:
        if exc.status not in (403, 404):  # the kind is not served here (no CRD), or not allowed
            raise


def reconcile(
    kube: KubeClient,
    namespace: str,
    name: str,
    now: Callable[[], str],
    default_image: str = names.DEFAULT_IMAGE,
) -> Outcome:
    """Bring one RouterConfig's children and status in line with its spec. Raises KubeApiError."""
    obj = kube.get(object_path(names.API_VERSION, names.KIND, namespace, name))
    if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
        # Children go with it (ownerReferences); a sidecar leaves the app's pods here.
        release_sidecars(kube, namespace, name)
        return Outcome(found=False)
    previous: dict[str, Any] = dict(obj.get("status") or {})
    try:
        resource = parse_resource(obj, default_image)
        check = check_resource(resource)
    except SpecError as exc:
        meta = obj.get("metadata") or {}
        resource = RouterConfigResource(
            name=str(meta.get("name")),
            namespace=namespace,
            config="",
            uid=str(meta.get("uid") or ""),
            generation=int(meta.get("generation") or 0),
        )
        check = ConfigCheck(config=None, problems=(Problem(str(exc), file="spec"),))

    deployment_path = object_path("apps/v1", "Deployment", namespace, name)
    if resource.target is not None:
        deployment_path = target_path(resource, resource.target)
    applied, failure, note = 0, None, ""
    if check.valid and check.config is not None:
        if resource.target is not None:  # sidecar mode: the app's pods, no Deployment of ours
            deployment, applied, failure, note = apply_sidecar(kube, resource, check.config)
        else:
            deployment, applied, failure, note = _apply_children(kube, resource, check.config)
        if failure is not None:
            deployment = kube.get(deployment_path)
            if not _was_failing_with(previous, failure):
                _post_event(kube, build_event(resource, WARNING, "ApplyFailed", failure, now()))
        elif previous.get("configHash") != config_hash(resource.config):
            _post_event(kube, build_event(resource, NORMAL, "ConfigApplied", "gateway config applied", now()))
    else:
        # Leave the running Deployment and its ConfigMap exactly as they are: the pods keep serving.
        deployment = kube.get(deployment_path)
        if not _was_invalid_with(previous, check.message()):
            _post_event(kube, build_event(resource, WARNING, "InvalidConfig", check.message(), now()))

    status = compute_status(resource, check, deployment, previous, now(), failure=failure, note=note)
    written = status_changed(previous, status)
    if written:
        kube.patch_status(namespace, name, status)
    if failure is not None:  # reported; now let the loop retry it with backoff
        raise KubeApiError(422, "ApplyFailed", failure)
    return Outcome(found=True, valid=check.valid, applied=applied, status_written=written)
