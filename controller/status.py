"""Compute a RouterConfig's status from what the controller saw (pure; the clock is an argument).

Conditions follow the Kubernetes convention: `lastTransitionTime` only moves when `status` flips, so a
resync that changes nothing writes an identical status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.configcheck import ConfigCheck, config_hash
from controller.spec import RouterConfigResource

CONFIG_VALID = "ConfigValid"
READY = "Ready"
MAX_MESSAGE = 1024


def _condition(
    kind: str, ok: bool, reason: str, message: str, generation: int, previous: Mapping[str, Any], now: str
) -> dict[str, Any]:
    status = "True" if ok else "False"
    old = next((c for c in previous.get("conditions") or [] if c.get("type") == kind), None)
    since = old.get("lastTransitionTime") if old and old.get("status") == status else None
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "observedGeneration": generation,
        "lastTransitionTime": since or now,
    }


def config_source(resource: RouterConfigResource) -> str:
    """Where the config text came from, as status.configSource says it."""
    return resource.config_from.describe() if resource.config_from else "spec.config"


def ready_replicas(deployment: Mapping[str, Any] | None) -> int:
    if not deployment:
        return 0
    return int((deployment.get("status") or {}).get("readyReplicas") or 0)


def rolling_out(deployment: Mapping[str, Any], replicas: int) -> bool:
    """The Deployment has not yet moved every pod to its current template (as far as it reports)."""
    status = deployment.get("status") or {}
    generation = (deployment.get("metadata") or {}).get("generation")
    seen = status.get("observedGeneration")
    if generation is not None and seen is not None and int(seen) < int(generation):
        return True
    updated = status.get("updatedReplicas")
    return updated is not None and int(updated) < replicas


def unshared_state_note(resource: RouterConfigResource, check: ConfigCheck) -> str:
    """Several gateways without redis each keep their own token store: a key revoked or a budget spent
    on one pod is unknown to the others. Allowed (a rolling update briefly runs two), but said."""
    config = check.config
    if resource.replicas < 2 or config is None or config.redis.url is not None:
        return ""
    return (
        f"; warning: {resource.replicas} replicas without redis in spec.config: each pod keeps its own "
        "keys, revocations and budgets"
    )


def compute_status(
    resource: RouterConfigResource,
    check: ConfigCheck,
    deployment: Mapping[str, Any] | None,
    previous: Mapping[str, Any],
    now: str,
    failure: str | None = None,
    note: str = "",
    failure_reason: str = "ApplyFailed",
) -> dict[str, Any]:
    """The full `.status` for this reconcile. `deployment` is the live child (None if absent);
    `failure` says why a child could not be written (Ready=False, reason `failure_reason`: ApplyFailed
    when the API refused it, NotOwned when an object of that name belongs to someone else); `note` is
    appended to the Ready message. `configSource` names where the served config came from."""
    ready = ready_replicas(deployment)
    if check.valid:
        valid = _condition(
            CONFIG_VALID,
            True,
            "Valid",
            f"{config_source(resource)} is valid",
            resource.generation,
            previous,
            now,
        )
        applied_hash = config_hash(resource.config)
        source = config_source(resource)
    else:
        valid = _condition(
            CONFIG_VALID, False, "InvalidConfig", check.message(), resource.generation, previous, now
        )
        applied_hash = str(previous.get("configHash") or "")  # the pods keep running the last good one
        source = str(previous.get("configSource") or "")
    if failure is not None:
        reason, message, ok = failure_reason, failure, False
    elif deployment is None:
        reason, message, ok = "NoDeployment", "no gateway Deployment yet", False
    elif rolling_out(deployment, resource.replicas):
        reason, message, ok = "RollingOut", "gateway pods are being replaced with the current config", False
    elif ready >= resource.replicas:
        reason, message, ok = "ReplicasReady", f"{ready}/{resource.replicas} gateway replicas ready", True
    else:
        reason, message, ok = "ReplicasNotReady", f"{ready}/{resource.replicas} gateway replicas ready", False
    return {
        "observedGeneration": resource.generation,
        "configHash": applied_hash,
        "configSource": source,
        "replicas": resource.replicas,
        "readyReplicas": ready,
        "conditions": [
            valid,
            _condition(
                READY,
                ok,
                reason,
                message + note + unshared_state_note(resource, check),
                resource.generation,
                previous,
                now,
            ),
        ],
    }


def status_changed(previous: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return {k: previous.get(k) for k in new} != dict(new)
