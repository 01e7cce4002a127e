"""Where a deployed gateway keeps its token store, and the rules that keep it (pure).

Keys, revocations and budgets must outlive a pod. With `redis:` in the config they live in Redis and any
number of gateways share them. Without it they live in files under the data dir, so exactly one gateway
may run and its data dir is a PersistentVolumeClaim (an `emptyDir` would forget a revoked key at the next
restart). Every deployment target (controller, `config render`, the gateway chart's values, Akash) asks
this module, so they cannot disagree.
"""

from __future__ import annotations

import math

from controller.spec import RouterConfigResource
from dsl.deployment import state_problems, uses_redis
from dsl.model import RouterConfig

__all__ = [
    "claim_name",
    "persistent_volume_claim",
    "state_problems",
    "termination_grace_seconds",
    "wants_claim",
]

# Seconds the pod may take beyond the config's shutdown grace: the SSE error events and the store flush.
TERMINATION_MARGIN_SECONDS = 5


def wants_claim(config: RouterConfig) -> bool:
    """File-backed state: the data dir must be a persistent volume."""
    return not uses_redis(config)


def claim_name(resource: RouterConfigResource) -> str:
    return f"{resource.name}-data"


def termination_grace_seconds(config: RouterConfig) -> int:
    """The pod's terminationGracePeriodSeconds: the config's shutdown grace (counted from SIGTERM, the
    shutdown delay included) plus a margin, so the kubelet never kills a stream the gateway still allows."""
    return math.ceil(config.server.shutdown_grace) + TERMINATION_MARGIN_SECONDS


def persistent_volume_claim(resource: RouterConfigResource, metadata: dict[str, object]) -> dict[str, object]:
    """The claim holding the data dir of the one gateway (ReadWriteOnce: one pod mounts it)."""
    spec: dict[str, object] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": resource.storage.size}},
    }
    if resource.storage.storage_class is not None:
        spec["storageClassName"] = resource.storage.storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": spec}
