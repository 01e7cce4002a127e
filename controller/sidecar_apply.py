"""Sidecar mode in the cluster: patch the target workload's pod template, and take the patch back.

The gateway joins `spec.targetRef` by server-side apply under its own field manager, so the API server
records exactly which fields are ours: the app's own containers, env and volumes stay with their owner,
and a later apply of nothing removes only what we added. The patch labels the workload with the
RouterConfig's name; when that RouterConfig is gone (or points elsewhere), the next reconcile of the
name finds the labelled workloads and applies nothing to them. No finalizer: the controller never
writes a RouterConfig's spec or metadata, which belong to the user. Sequencing of API calls only; the
patch itself comes from the pure `controller.sidecar`.
"""

from __future__ import annotations

import logging
from typing import Any

from controller import names
from controller.kube import KubeApiError, KubeClient, object_path
from controller.render import config_map
from controller.sidecar import SIDECAR_OF_LABEL, sidecar_patch
from controller.spec import RouterConfigResource, Workload
from dsl.model import RouterConfig

log = logging.getLogger(__name__)


def target_path(resource: RouterConfigResource, target: Workload) -> str:
    return object_path("apps/v1", target.kind, resource.namespace, target.name)


def apply_sidecar(
    kube: KubeClient, resource: RouterConfigResource, config: RouterConfig
) -> tuple[dict[str, Any] | None, int, str | None]:
    """(live target, how many applied, a permanent failure) like the gateway-mode apply."""
    assert resource.target is not None
    release_sidecars(kube, resource.namespace, resource.name, keep=resource.target)
    applied, live = 0, None
    for manifest, manager in (
        (config_map(resource), names.FIELD_MANAGER),
        (sidecar_patch(resource, config, resource.target), names.SIDECAR_FIELD_MANAGER),
    ):
        try:
            live = kube.apply(manifest, field_manager=manager)
        except KubeApiError as exc:
            if exc.retryable:
                raise
            return None, applied, f"{manifest['kind']} {manifest['metadata']['name']} rejected: {exc}"
        applied += 1
    return live, applied, None


def release_sidecars(kube: KubeClient, namespace: str, name: str, keep: Workload | None = None) -> int:
    """Take the sidecar of RouterConfig `name` off every Deployment that carries it (except `keep`):
    apply nothing under our field manager, and the API server drops every field we added."""
    items, _ = kube.list(object_path("apps/v1", "Deployment", namespace))
    released = 0
    for item in items:
        meta = item.get("metadata") or {}
        if (meta.get("labels") or {}).get(SIDECAR_OF_LABEL) != name:
            continue
        if keep is not None and (keep.kind, keep.name) == ("Deployment", meta.get("name")):
            continue
        empty = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": meta.get("name"), "namespace": namespace},
        }
        try:
            kube.apply(empty, field_manager=names.SIDECAR_FIELD_MANAGER)
            released += 1
        except KubeApiError as exc:
            if exc.retryable:
                raise
            log.warning("sidecar of %s not removed from %s: %s", name, meta.get("name"), exc)
    return released
