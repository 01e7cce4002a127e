"""Leader election over a coordination.k8s.io/v1 Lease, so several controller replicas run one loop.

`decide` is pure (who may hold the lease now); `LeaderElector` does the two API calls, using the
Lease's resourceVersion as a precondition so two candidates can never both win (the loser gets 409).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from controller import names
from controller.kube import MERGE, KubeApiError, KubeClient, object_path

LEASE_NAME = f"{names.APP_NAME}-controller"


class Action(StrEnum):
    CREATE = "create"  # nobody ever held it
    RENEW = "renew"  # we hold it
    TAKE_OVER = "take-over"  # the holder let it expire
    WAIT = "wait"  # someone else holds it


def micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None


def decide(lease: Mapping[str, Any] | None, me: str, now: datetime) -> Action:
    """What `me` may do with the lease at `now`."""
    if lease is None:
        return Action.CREATE
    spec = lease.get("spec") or {}
    if spec.get("holderIdentity") == me:
        return Action.RENEW
    renewed = _parse(spec.get("renewTime"))
    duration = int(spec.get("leaseDurationSeconds") or 0)
    if not spec.get("holderIdentity") or renewed is None or now > renewed + timedelta(seconds=duration):
        return Action.TAKE_OVER
    return Action.WAIT


@dataclass
class LeaderElector:
    kube: KubeClient
    namespace: str
    identity: str
    duration_seconds: int = 15

    def _spec(self, lease: Mapping[str, Any] | None, now: datetime, action: Action) -> dict[str, Any]:
        spec = dict((lease or {}).get("spec") or {})
        spec.update(
            {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.duration_seconds,
                "renewTime": micro_time(now),
            }
        )
        if action is not Action.RENEW:
            spec["acquireTime"] = micro_time(now)
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (0 if lease is None else 1)
        return spec

    def try_lead(self, now: datetime | None = None) -> bool:
        """Acquire or renew the lease; True while we are the leader. Raises only on unexpected errors."""
        moment = now or datetime.now(UTC)
        path = object_path("coordination.k8s.io/v1", "Lease", self.namespace, LEASE_NAME)
        lease = self.kube.get(path)
        action = decide(lease, self.identity, moment)
        if action is Action.WAIT:
            return False
        try:
            if action is Action.CREATE:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": LEASE_NAME, "namespace": self.namespace},
                    "spec": self._spec(None, moment, action),
                }
                self.kube.request(
                    "POST", object_path("coordination.k8s.io/v1", "Lease", self.namespace), body=body
                )
            else:
                assert lease is not None
                version = (lease.get("metadata") or {}).get("resourceVersion")
                patch = {"metadata": {"resourceVersion": version}, "spec": self._spec(lease, moment, action)}
                self.kube.request("PATCH", path, body=patch, content_type=MERGE)
        except KubeApiError as exc:
            if exc.status == 409:  # another candidate moved first
                return False
            raise
        return True

    def release(self) -> None:
        """Give the lease up on a clean shutdown, so a standby takes over at once (best effort)."""
        path = object_path("coordination.k8s.io/v1", "Lease", self.namespace, LEASE_NAME)
        try:
            lease = self.kube.get(path)
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            version = (lease.get("metadata") or {}).get("resourceVersion")
            patch = {"metadata": {"resourceVersion": version}, "spec": {"holderIdentity": ""}}
            self.kube.request("PATCH", path, body=patch, content_type=MERGE)
        except KubeApiError:
            return
