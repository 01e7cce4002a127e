"""Kubernetes Event objects about a RouterConfig (pure builders; posting is the loop's job)."""

from __future__ import annotations

import hashlib
from typing import Any

from controller import names
from controller.spec import RouterConfigResource

WARNING = "Warning"
NORMAL = "Normal"


def build_event(
    resource: RouterConfigResource, kind: str, reason: str, message: str, now: str
) -> dict[str, Any]:
    """A core/v1 Event on the RouterConfig; the name is unique per (time, reason, message)."""
    digest = hashlib.sha256(f"{now}|{reason}|{message}".encode()).hexdigest()[:12]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{resource.name}.{digest}", "namespace": resource.namespace},
        "involvedObject": {
            "apiVersion": names.API_VERSION,
            "kind": names.KIND,
            "name": resource.name,
            "namespace": resource.namespace,
            "uid": resource.uid,
        },
        "type": kind,
        "reason": reason,
        "message": message[:1024],
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "source": {"component": names.FIELD_MANAGER},
        "reportingComponent": names.FIELD_MANAGER,
        "reportingInstance": names.FIELD_MANAGER,
    }
