"""The controller against kmock's emulator: `spec.configFrom` (a ConfigMap edit reaches the gateway's
config without a pod roll; an invalid edit keeps the old one and says why), writes only what differs
(a settled object costs zero writes on resync), drift of a child repaired, an unowned object left alone,
and the prometheus_client metrics."""

from __future__ import annotations

import copy
from typing import Any

from controller.runner import Controller
from tests.controller.conftest import Cluster
from tests.controller.test_loop import GOOD, HASH, condition, create, live, sha

CM_PATH = "/api/v1/namespaces/default/configmaps"
DEPLOYMENT = "/apis/apps/v1/namespaces/default/deployments/team"
# A config-only change (same port, same pod spec): with hot reload the pods reload it in place.
GOOD_TIMEOUT = GOOD + "  openai-api off\n"  # GOOD ends in its features section
BAD = "server:\n  port abc\n"


def from_config_map(name: str = "team", source: str = "team-lino") -> dict[str, Any]:
    return {
        "apiVersion": "router.link-assistant.dev/v1alpha1",
        "kind": "RouterConfig",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "configFrom": {"configMapKeyRef": {"name": source, "key": "router.lino"}},
            "replicas": 1,
            "image": "example.test/router:1",
        },
    }


async def put_source(cluster: Cluster, text: str, name: str = "team-lino") -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}}
    if cluster.emulator.live("configmaps", "default", name) is None:
        async with cluster.emulator.post(CM_PATH, json={**body, "data": {"router.lino": text}}) as resp:
            assert resp.status in (200, 201), await resp.text()
        return
    headers = {"Content-Type": "application/merge-patch+json"}
    async with cluster.emulator.patch(
        f"{CM_PATH}/{name}", json={"data": {"router.lino": text}}, headers=headers
    ) as resp:
        assert resp.status == 200, await resp.text()


def controller_writes(cluster: Cluster) -> list[str]:
    """Every write the controller (the kubernetes client, not this test) has sent so far."""
    return [
        f"{r.method} {r.url.path}"
        for r in cluster.emulator
        if r.method != "GET" and r.headers.get("User-Agent", "").startswith("OpenAPI-Generator")
    ]


def status_of(cluster: Cluster) -> dict[str, Any]:
    return dict((live(cluster, "routerconfigs") or {}).get("status") or {})


async def settled(cluster: Cluster, running: Controller, text: str) -> None:
    await cluster.eventually(
        lambda: (
            status_of(cluster).get("configHash") == sha(text)
            and (live(cluster, "configmaps", "team-config") or {}).get("data", {}).get("router.lino") == text
        ),
        what="the config served and reported",
    )
    seen = running.reconciled
    await cluster.eventually(lambda: running.reconciled >= seen + 1, what="one more reconcile")


async def test_a_config_map_edit_reaches_the_gateway_config_without_a_pod_roll(
    cluster: Cluster, running: Controller
) -> None:
    await put_source(cluster, GOOD)
    await create(cluster, from_config_map())
    await settled(cluster, running, GOOD)
    status = status_of(cluster)
    assert status["configSource"] == "ConfigMap team-lino key router.lino"
    assert condition(live(cluster, "routerconfigs"), "ConfigValid")["message"].startswith(
        "ConfigMap team-lino"
    )
    template = copy.deepcopy((live(cluster, "deployments") or {})["spec"]["template"])
    deployment_writes = len(cluster.emulator["patch"][DEPLOYMENT])

    await put_source(cluster, GOOD_TIMEOUT)  # the watch on ConfigMaps brings it in, not the resync
    await settled(cluster, running, GOOD_TIMEOUT)
    # The mounted ConfigMap now holds the new text (the kubelet swaps its `..data` link; the gateway's
    # hot reload picks it up); the pod template is untouched, so no pod restarts.
    assert (live(cluster, "deployments") or {})["spec"]["template"] == template
    assert HASH not in (template["metadata"].get("annotations") or {})
    assert len(cluster.emulator["patch"][DEPLOYMENT]) == deployment_writes


async def test_an_invalid_config_map_edit_keeps_the_old_config_and_says_why(
    cluster: Cluster, running: Controller
) -> None:
    await put_source(cluster, GOOD)
    await create(cluster, from_config_map())
    await settled(cluster, running, GOOD)
    await put_source(cluster, BAD)
    invalid = await cluster.eventually(
        lambda: (
            condition(live(cluster, "routerconfigs"), "ConfigValid").get("status") == "False"
            and condition(live(cluster, "routerconfigs"), "ConfigValid")
        ),
        what="ConfigValid=False",
    )
    assert invalid["reason"] == "InvalidConfig" and ":2:3:" in invalid["message"]
    assert status_of(cluster)["configHash"] == sha(GOOD)  # still served
    assert status_of(cluster)["configSource"] == "ConfigMap team-lino key router.lino"
    assert (live(cluster, "configmaps", "team-config") or {})["data"]["router.lino"] == GOOD
    events = [e for e in cluster.emulator.all("events") if e["reason"] == "InvalidConfig"]
    assert events and ":2:3:" in events[0]["message"]


async def test_a_missing_source_is_reported_then_picked_up_when_it_appears(
    cluster: Cluster, running: Controller
) -> None:
    await create(cluster, from_config_map())
    missing = await cluster.eventually(
        lambda: (
            condition(live(cluster, "routerconfigs"), "ConfigValid").get("status") == "False"
            and condition(live(cluster, "routerconfigs"), "ConfigValid")
        ),
        what="ConfigValid=False",
    )
    assert "ConfigMap team-lino does not exist" in missing["message"]
    assert live(cluster, "deployments") is None
    await put_source(cluster, GOOD)
    await settled(cluster, running, GOOD)
    assert live(cluster, "deployments") is not None


async def test_a_settled_router_config_costs_zero_writes_on_resync(
    cluster: Cluster, running: Controller
) -> None:
    await put_source(cluster, GOOD)
    await create(cluster, from_config_map())
    await settled(cluster, running, GOOD)
    before = controller_writes(cluster)
    assert before  # it did write the children and the status once
    seen = running.reconciled
    await cluster.eventually(lambda: running.reconciled >= seen + 3, what="three resyncs")
    assert controller_writes(cluster) == before


async def test_drift_of_a_child_is_repaired_within_seconds(cluster: Cluster, running: Controller) -> None:
    await put_source(cluster, GOOD)
    await create(cluster, from_config_map())
    await settled(cluster, running, GOOD)
    headers = {"Content-Type": "application/merge-patch+json"}
    async with cluster.emulator.patch(DEPLOYMENT, json={"spec": {"replicas": 7}}, headers=headers) as resp:
        assert resp.status == 200
    async with cluster.emulator.patch(
        f"{CM_PATH}/team-config", json={"data": {"router.lino": "hand edited\n"}}, headers=headers
    ) as resp:
        assert resp.status == 200
    await cluster.eventually(
        lambda: (
            (live(cluster, "deployments") or {})["spec"]["replicas"] == 1
            and (live(cluster, "configmaps", "team-config") or {})["data"]["router.lino"] == GOOD
        ),
        timeout=5,
        what="the drift repaired",
    )


async def test_an_object_it_does_not_own_is_left_alone(cluster: Cluster, running: Controller) -> None:
    theirs = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "team", "namespace": "default", "labels": {"owner": "someone-else"}},
        "spec": {"ports": [{"name": "web", "port": 80}]},
    }
    async with cluster.emulator.post("/api/v1/namespaces/default/services", json=theirs) as resp:
        assert resp.status in (200, 201)
    original = copy.deepcopy(live(cluster, "services"))
    await put_source(cluster, GOOD)
    await create(cluster, from_config_map())
    ready = await cluster.eventually(
        lambda: (
            condition(live(cluster, "routerconfigs"), "Ready").get("reason") == "NotOwned"
            and condition(live(cluster, "routerconfigs"), "Ready")
        ),
        what="Ready=False NotOwned",
    )
    assert ready["status"] == "False" and "Service team" in ready["message"]
    event = await cluster.eventually(
        lambda: [e for e in cluster.emulator.all("events") if e["reason"] == "NotOwned"], what="an Event"
    )
    assert event[0]["type"] == "Warning"
    seen = running.reconciled
    await cluster.eventually(lambda: running.reconciled >= seen + 2, what="two more resyncs")
    assert live(cluster, "services") == original
    assert not list(cluster.emulator["patch"]["/api/v1/namespaces/default/services/team"])
    assert len([e for e in cluster.emulator.all("events") if e["reason"] == "NotOwned"]) == 1  # no spam


async def test_metrics_through_prometheus_client(cluster: Cluster, running: Controller) -> None:
    await put_source(cluster, GOOD)
    await create(cluster, from_config_map())
    await settled(cluster, running, GOOD)
    text = running.metrics.exposition().decode()
    assert "# TYPE link_assistant_controller_reconcile_duration_seconds histogram" in text
    count = next(
        line
        for line in text.splitlines()
        if line.startswith("link_assistant_controller_reconcile_duration_seconds_count")
    )
    assert float(count.split()[-1]) >= 1
    assert "link_assistant_controller_queue_depth " in text
    writes = next(
        line for line in text.splitlines() if line.startswith("link_assistant_controller_child_writes_total")
    )
    assert float(writes.split()[-1]) >= 3
