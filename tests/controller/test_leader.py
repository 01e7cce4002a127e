"""Leader election: only the replica holding the Lease reconciles; a clean stop hands over at once; a
replica that loses the Lease stops (and exits non-zero so it campaigns again)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from controller.leader import LEASE_NAME, Action, LeaderElector, decide, micro_time
from controller.runner import Controller
from tests.controller.conftest import Cluster
from tests.controller.test_loop import create, live, router_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def lease(holder: str, renewed: datetime, duration: int = 15) -> dict[str, object]:
    return {
        "spec": {"holderIdentity": holder, "renewTime": micro_time(renewed), "leaseDurationSeconds": duration}
    }


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (None, Action.CREATE),
        (lease("me", NOW - timedelta(seconds=100)), Action.RENEW),
        (lease("other", NOW - timedelta(seconds=5)), Action.WAIT),
        (lease("other", NOW - timedelta(seconds=16)), Action.TAKE_OVER),
        (lease("", NOW), Action.TAKE_OVER),  # released on a clean shutdown
        ({"spec": {"holderIdentity": "other", "renewTime": "garbage"}}, Action.TAKE_OVER),
    ],
)
def test_who_may_hold_the_lease(current: dict[str, object] | None, action: Action) -> None:
    assert decide(current, "me", NOW) is action


def start(cluster: Cluster, identity: str) -> tuple[Controller, threading.Thread]:
    elector = LeaderElector(cluster.kube, "default", identity, duration_seconds=3)
    controller = Controller(kube=cluster.kube, namespace="default", resync_seconds=1.0, elector=elector)
    thread = threading.Thread(target=controller.run, daemon=True, name=f"controller-{identity}")
    thread.start()
    return controller, thread


def holder(cluster: Cluster) -> str:
    found = cluster.emulator.live("leases", "default", LEASE_NAME)
    return str(((found or {}).get("spec") or {}).get("holderIdentity") or "")


async def stop(cluster: Cluster, *controllers: tuple[Controller, threading.Thread]) -> None:
    for controller, _ in controllers:
        controller.shutdown()
    await cluster.eventually(
        lambda: not any(t.is_alive() for _, t in controllers), what="controllers stopped"
    )


async def test_one_leader_reconciles_and_a_clean_stop_hands_over(cluster: Cluster) -> None:
    a = start(cluster, "a")
    await cluster.eventually(lambda: holder(cluster) == "a", what="a leads")
    b = start(cluster, "b")
    try:
        await create(cluster, router_config())
        await cluster.eventually(lambda: live(cluster, "deployments"), what="the leader reconciles")
        await asyncio.sleep(1.5)  # b has had time to campaign and to (wrongly) reconcile
        assert b[0].reconciled == 0 and holder(cluster) == "a"

        a[0].shutdown()  # a clean stop releases the lease
        await cluster.eventually(lambda: holder(cluster) == "b", timeout=5, what="b takes over")
        await create(cluster, router_config(name="second"))
        await cluster.eventually(lambda: live(cluster, "deployments", "second"), what="b reconciles")
        assert b[0].reconciled >= 1 and not a[0].lost_leadership
    finally:
        await stop(cluster, a, b)


async def test_a_leader_that_loses_the_lease_stops(cluster: Cluster) -> None:
    a = start(cluster, "a")
    try:
        await cluster.eventually(lambda: holder(cluster) == "a", what="a leads")
        headers = {"Content-Type": "application/merge-patch+json"}
        taken = {"spec": {"holderIdentity": "intruder", "renewTime": micro_time(datetime.now(UTC))}}
        async with cluster.emulator.patch(
            f"/apis/coordination.k8s.io/v1/namespaces/default/leases/{LEASE_NAME}",
            json=taken,
            headers=headers,
        ) as resp:
            assert resp.status == 200
        await cluster.eventually(lambda: not a[1].is_alive(), timeout=5, what="a stops")
        assert a[0].lost_leadership
        assert holder(cluster) == "intruder"  # a stale leader never writes the lease back
    finally:
        await stop(cluster, a)


async def test_a_stale_lease_write_is_refused(cluster: Cluster) -> None:
    first = LeaderElector(cluster.kube, "default", "first", duration_seconds=1)
    second = LeaderElector(cluster.kube, "default", "second", duration_seconds=1)
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, first.try_lead)
    assert not await loop.run_in_executor(None, second.try_lead)  # held and fresh
    later = datetime.now(UTC) + timedelta(seconds=5)
    before = cluster.emulator.live("leases", "default", LEASE_NAME) or {}
    assert await loop.run_in_executor(None, lambda: second.try_lead(later))  # expired: taken over
    assert holder(cluster) == "second"
    # A candidate that read the lease before that take-over cannot write it any more.
    stale = {
        "metadata": {"resourceVersion": before["metadata"]["resourceVersion"]},
        "spec": {"holderIdentity": "first"},
    }
    headers = {"Content-Type": "application/merge-patch+json"}
    async with cluster.emulator.patch(
        f"/apis/coordination.k8s.io/v1/namespaces/default/leases/{LEASE_NAME}", json=stale, headers=headers
    ) as resp:
        assert resp.status == 409
    assert holder(cluster) == "second"
