"""The controller loop end to end against kmock's Kubernetes emulator: create, update (pods roll),
invalid config (status + Event, Deployment untouched), delete, resync after a missed event, 409 retried."""

from __future__ import annotations

import copy
import functools
import hashlib
import threading
from typing import Any

from controller.runner import Controller
from tests.controller.conftest import Cluster

RC_PATH = "/apis/router.link-assistant.dev/v1alpha1/namespaces/default/routerconfigs"
GOOD = "server:\n  port 8080\n  admin-grpc-port 9090\nfeatures:\n  metrics on\n"
GOOD_V2 = "server:\n  port 8081\n  admin-grpc-port 9090\nfeatures:\n  metrics on\n"
BAD = "server:\n  port abc\n"
HASH = "router.link-assistant.dev/config-hash"


def router_config(config: str = GOOD, name: str = "team") -> dict[str, Any]:
    return {
        "apiVersion": "router.link-assistant.dev/v1alpha1",
        "kind": "RouterConfig",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"config": config, "replicas": 2, "image": "example.test/router:1"},
    }


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == kind:
            return dict(cond)
    return {}


async def create(cluster: Cluster, body: dict[str, Any]) -> dict[str, Any]:
    async with cluster.emulator.post(RC_PATH, json=body) as resp:
        assert resp.status in (200, 201), await resp.text()
        return dict(await resp.json())


async def patch_spec(cluster: Cluster, name: str, spec: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    async with cluster.emulator.patch(f"{RC_PATH}/{name}", json={"spec": spec}, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


def live(cluster: Cluster, plural: str, name: str = "team") -> dict[str, Any] | None:
    return cluster.emulator.live(plural, "default", name)


async def config_valid(cluster: Cluster, status: str) -> dict[str, Any]:
    """Wait until the RouterConfig's ConfigValid condition has `status`; return the condition."""
    return dict(
        await cluster.eventually(
            lambda: (
                condition(live(cluster, "routerconfigs"), "ConfigValid").get("status") == status
                and condition(live(cluster, "routerconfigs"), "ConfigValid")
            ),
            what=f"ConfigValid={status}",
        )
    )


async def test_create_renders_owned_children_and_status(cluster: Cluster, running: Controller) -> None:
    rc = await create(cluster, router_config())
    uid = rc["metadata"]["uid"]
    deployment = await cluster.eventually(lambda: live(cluster, "deployments"), what="the Deployment")
    config_map = await cluster.eventually(
        lambda: live(cluster, "configmaps", "team-config"), what="the ConfigMap"
    )
    service = await cluster.eventually(lambda: live(cluster, "services"), what="the Service")
    for child in (deployment, config_map, service):
        owner = child["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "RouterConfig",
            "team",
            uid,
            True,
        )
    assert config_map["data"]["router.lino"] == GOOD
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["replicas"] == 2
    # hot-reload is on by default: the pods reload the mounted file, so no config hash rolls them.
    assert HASH not in (pod["metadata"].get("annotations") or {})
    container = pod["spec"]["containers"][0]
    assert container["image"] == "example.test/router:1"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080, "grpc-admin": 9090}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert {p["name"] for p in service["spec"]["ports"]} == {"http", "grpc-admin", "metrics"}

    status = await cluster.eventually(
        lambda: (
            condition(live(cluster, "routerconfigs"), "ConfigValid").get("status") == "True"
            and live(cluster, "routerconfigs")
        ),
        what="ConfigValid=True",
    )
    assert status["status"]["configHash"] == sha(GOOD)
    assert status["status"]["configSource"] == "spec.config"
    assert status["status"]["observedGeneration"] == 1
    assert condition(status, "Ready")["status"] == "False"  # no pod is ready yet
    events = cluster.emulator.all("events")
    assert any(e["reason"] == "ConfigApplied" and e["involvedObject"]["uid"] == uid for e in events)

    # kube-controller-manager would report ready pods in the Deployment's status; the controller mirrors it.
    async with cluster.emulator.patch(
        "/apis/apps/v1/namespaces/default/deployments/team/status",
        json={"status": {"readyReplicas": 2, "replicas": 2}},
        headers={"Content-Type": "application/merge-patch+json"},
    ) as resp:
        assert resp.status == 200
    ready = await cluster.eventually(
        lambda: (
            condition(live(cluster, "routerconfigs"), "Ready").get("status") == "True"
            and live(cluster, "routerconfigs")
        ),
        what="Ready=True",
    )
    assert ready["status"]["readyReplicas"] == 2
    assert "2 replicas without redis" in condition(ready, "Ready")["message"]  # said, not refused


# Both end in the features section: hot-reload off there makes every config change roll the pods.
GOOD_OFF = GOOD + "  hot-reload off\n"
GOOD_V2_OFF = GOOD_V2 + "  hot-reload off\n"


async def test_config_change_rolls_the_pods_with_hot_reload_off(
    cluster: Cluster, running: Controller
) -> None:
    await create(cluster, router_config(GOOD_OFF))
    first = await cluster.eventually(lambda: live(cluster, "deployments"), what="the Deployment")
    annotations = first["spec"]["template"]["metadata"]["annotations"]
    assert annotations[HASH] == sha(GOOD_OFF)
    await patch_spec(cluster, "team", {"config": GOOD_V2_OFF})

    def rolled() -> dict[str, Any] | None:
        d = live(cluster, "deployments")
        annotations = (d or {})["spec"]["template"]["metadata"]["annotations"] if d else {}
        return d if annotations.get(HASH) == sha(GOOD_V2_OFF) else None

    deployment = await cluster.eventually(rolled, what="a new config hash on the pod template")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8081
    assert (live(cluster, "configmaps", "team-config") or {})["data"]["router.lino"] == GOOD_V2_OFF
    status = await cluster.eventually(
        lambda: (
            (live(cluster, "routerconfigs") or {}).get("status", {}).get("configHash") == sha(GOOD_V2_OFF)
            and live(cluster, "routerconfigs")
        ),
        what="status.configHash of the new config",
    )
    assert status["status"]["observedGeneration"] == 2


async def test_invalid_config_reports_line_and_column_and_keeps_the_pods(
    cluster: Cluster, running: Controller
) -> None:
    await create(cluster, router_config())
    await config_valid(cluster, "True")
    await patch_spec(cluster, "team", {"config": BAD})
    invalid = await config_valid(cluster, "False")
    assert invalid["reason"] == "InvalidConfig"
    assert ":2:3:" in invalid["message"] and "port" in invalid["message"]  # line 2, column 3
    events = await cluster.eventually(
        lambda: [e for e in cluster.emulator.all("events") if e["reason"] == "InvalidConfig"], what="an Event"
    )
    assert events[0]["type"] == "Warning" and ":2:3:" in events[0]["message"]
    status = (live(cluster, "routerconfigs") or {})["status"]
    assert status["configHash"] == sha(GOOD)  # the pods still run the last good config

    deployment = copy.deepcopy(live(cluster, "deployments"))
    assert deployment is not None
    assert (live(cluster, "configmaps", "team-config") or {})["data"]["router.lino"] == GOOD
    writes = len(cluster.emulator["patch"]["/apis/apps/v1/namespaces/default/deployments/team"])
    seen = running.reconciled
    await cluster.eventually(lambda: running.reconciled >= seen + 2, what="two more resyncs")
    assert live(cluster, "deployments") == deployment
    assert (live(cluster, "configmaps", "team-config") or {})["data"]["router.lino"] == GOOD
    assert len(cluster.emulator["patch"]["/apis/apps/v1/namespaces/default/deployments/team"]) == writes
    assert len([e for e in cluster.emulator.all("events") if e["reason"] == "InvalidConfig"]) == 1  # no spam


async def test_a_config_only_a_deployment_rejects_also_keeps_the_pods(
    cluster: Cluster, running: Controller
) -> None:
    # Valid DSL, but a gateway bound to loopback could not be reached by its Service or probes.
    await create(cluster, router_config())
    await config_valid(cluster, "True")
    deployment = copy.deepcopy(live(cluster, "deployments"))
    await patch_spec(cluster, "team", {"config": "server:\n  host 127.0.0.1\n  port 8081\n"})
    invalid = await config_valid(cluster, "False")
    assert "127.0.0.1" in invalid["message"] and "Service" in invalid["message"]
    seen = running.reconciled
    await cluster.eventually(lambda: running.reconciled >= seen + 2, what="two more resyncs")
    assert live(cluster, "deployments") == deployment
    assert (live(cluster, "configmaps", "team-config") or {})["data"]["router.lino"] == GOOD


async def test_invalid_config_from_the_start_creates_nothing(cluster: Cluster, running: Controller) -> None:
    await create(cluster, router_config(BAD))
    await cluster.eventually(
        lambda: condition(live(cluster, "routerconfigs"), "ConfigValid").get("status") == "False",
        what="invalid",
    )
    ready = condition(live(cluster, "routerconfigs"), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NoDeployment")
    assert live(cluster, "deployments") is None and live(cluster, "configmaps", "team-config") is None


async def test_delete_removes_children_and_they_stay_gone(cluster: Cluster, running: Controller) -> None:
    await create(cluster, router_config())
    await cluster.eventually(lambda: live(cluster, "services"), what="the Service")
    async with cluster.emulator.delete(f"{RC_PATH}/team") as resp:
        assert resp.status == 200
    await cluster.eventually(
        lambda: (
            not any(
                live(cluster, p, n)
                for p, n in (("deployments", "team"), ("services", "team"), ("configmaps", "team-config"))
            )
        ),
        what="children garbage-collected",
    )
    seen = running.reconciled
    await cluster.eventually(lambda: running.reconciled >= seen + 1, what="another reconcile")
    assert live(cluster, "deployments") is None  # the controller does not resurrect them


async def test_resync_repairs_a_missed_event(cluster: Cluster, running: Controller) -> None:
    # Written straight into the store: no watch event is ever sent for it.
    body = router_config(name="quiet")
    body["metadata"].update({"uid": "11111111-2222-3333-4444-555555555555", "generation": 1})
    cluster.emulator.objects["router.link-assistant.dev/v1alpha1/routerconfigs", "default", "quiet"] = body
    deployment = await cluster.eventually(lambda: live(cluster, "deployments", "quiet"), what="resync")
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == body["metadata"]["uid"]

    # A child deleted behind the controller's back (again without an event) comes back.
    cluster.emulator.objects["apps/v1/deployments", "default", "quiet"].delete()
    await cluster.eventually(lambda: live(cluster, "deployments", "quiet"), what="the Deployment recreated")


async def test_conflicts_are_retried_with_backoff(cluster: Cluster, running: Controller) -> None:
    cluster.emulator.fail("PATCH", "deployments", 409, 409)
    cluster.emulator.fail("PATCH", "routerconfigs", 409)
    await create(cluster, router_config())
    await cluster.eventually(lambda: live(cluster, "deployments"), what="the Deployment after two conflicts")
    await cluster.eventually(
        lambda: condition(live(cluster, "routerconfigs"), "ConfigValid").get("status") == "True",
        what="status after a conflicting status write",
    )
    applies = cluster.emulator["patch"]["/apis/apps/v1/namespaces/default/deployments/team"]
    assert len(applies) >= 3
    assert cluster.emulator.failures[("PATCH", "deployments")] == []
    # A conflict is routine: retried quietly, never reported to the user as a failed apply.
    assert not [e for e in cluster.emulator.all("events") if e["reason"] == "ApplyFailed"]


async def test_a_rejected_child_is_reported_in_status_and_retried(
    cluster: Cluster, running: Controller
) -> None:
    cluster.emulator.fail("PATCH", "deployments", 422, 422, 422)  # about 1.4 s of refusals
    await create(cluster, router_config())
    ready = await cluster.eventually(
        lambda: (
            condition(live(cluster, "routerconfigs"), "Ready").get("reason") == "ApplyFailed"
            and condition(live(cluster, "routerconfigs"), "Ready")
        ),
        what="Ready=False ApplyFailed",
    )
    assert ready["message"].startswith("Deployment team rejected: 422")
    assert any(e["reason"] == "ApplyFailed" for e in cluster.emulator.all("events"))
    # The loop keeps trying with backoff; once the API accepts the object the status recovers.
    await cluster.eventually(lambda: live(cluster, "deployments"), what="the Deployment on retry")
    await cluster.eventually(
        lambda: condition(live(cluster, "routerconfigs"), "Ready").get("reason") == "ReplicasNotReady",
        what="Ready reason after recovery",
    )


async def test_a_missing_servicemonitor_crd_costs_only_the_monitor(
    cluster: Cluster, running: Controller
) -> None:
    cluster.emulator.fail("PATCH", "servicemonitors", *([404] * 100))
    body = router_config()
    body["spec"]["serviceMonitor"] = {"enabled": True}
    await create(cluster, body)
    await cluster.eventually(lambda: live(cluster, "deployments"), what="the Deployment")
    ready = await cluster.eventually(
        lambda: (
            "no ServiceMonitor" in condition(live(cluster, "routerconfigs"), "Ready").get("message", "")
            and condition(live(cluster, "routerconfigs"), "Ready")
        ),
        what="a note about the ServiceMonitor",
    )
    assert condition(live(cluster, "routerconfigs"), "ConfigValid")["status"] == "True"
    assert ready["reason"] == "ReplicasNotReady"
    assert live(cluster, "servicemonitors") is None


async def test_servicemonitor_follows_the_spec(cluster: Cluster, running: Controller) -> None:
    body = router_config()
    body["spec"]["serviceMonitor"] = {"enabled": True, "interval": "15s"}
    await create(cluster, body)
    monitor = await cluster.eventually(lambda: live(cluster, "servicemonitors"), what="the ServiceMonitor")
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    await patch_spec(cluster, "team", {"serviceMonitor": {"enabled": False}})
    await cluster.eventually(
        lambda: live(cluster, "servicemonitors") is None, what="the ServiceMonitor removed"
    )


async def test_a_disruption_budget_comes_and_goes_with_several_replicas(
    cluster: Cluster, running: Controller
) -> None:
    await create(cluster, router_config())  # replicas: 2
    budget = await cluster.eventually(lambda: live(cluster, "poddisruptionbudgets"), what="the PDB")
    assert budget["spec"]["maxUnavailable"] == 1
    await patch_spec(cluster, "team", {"replicas": 1})
    await cluster.eventually(lambda: live(cluster, "poddisruptionbudgets") is None, what="the PDB removed")
    assert (live(cluster, "deployments") or {})["spec"]["replicas"] == 1


async def test_watching_all_namespaces(cluster: Cluster) -> None:
    controller = Controller(kube=cluster.kube, namespace=None, resync_seconds=1.0)
    thread = threading.Thread(target=controller.run, daemon=True)
    thread.start()
    try:
        for namespace in ("team-a", "team-b"):
            body = router_config()
            body["metadata"]["namespace"] = namespace
            path = f"/apis/router.link-assistant.dev/v1alpha1/namespaces/{namespace}/routerconfigs"
            async with cluster.emulator.post(path, json=body) as resp:
                assert resp.status in (200, 201)
        for namespace in ("team-a", "team-b"):
            deployment = await cluster.eventually(
                functools.partial(cluster.emulator.live, "deployments", namespace, "team"), what=namespace
            )
            assert deployment["metadata"]["namespace"] == namespace
    finally:
        controller.shutdown()
        # Not thread.join(): the emulator runs on this event loop and must keep answering meanwhile.
        await cluster.eventually(lambda: not thread.is_alive(), timeout=5, what="the controller to stop")


async def test_children_are_written_by_server_side_apply_under_one_field_manager(
    cluster: Cluster, running: Controller
) -> None:
    await create(cluster, router_config())
    await cluster.eventually(lambda: live(cluster, "poddisruptionbudgets"), what="every child")
    await config_valid(cluster, "True")  # the status is written after the children
    children = {
        "/api/v1/namespaces/default/configmaps/team-config",
        "/apis/apps/v1/namespaces/default/deployments/team",
        "/api/v1/namespaces/default/services/team",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets/team",
    }
    for path in children:
        writes = list(cluster.emulator["patch"][path])
        assert writes, path
        for request in writes:
            assert request.headers["Content-Type"] == "application/apply-patch+yaml", path
            assert request.params.get("fieldManager") == "link-assistant-router-controller", path
            assert "force" not in request.params, path  # never takes fields over from another manager
    # The user's object is never applied over: only its status subresource is written.
    assert not list(cluster.emulator["patch"][RC_PATH + "/team"])
    status_writes = list(cluster.emulator["patch"][RC_PATH + "/team/status"])
    assert status_writes and all(
        r.headers["Content-Type"] == "application/merge-patch+json" for r in status_writes
    )


async def test_a_settled_router_config_is_not_rewritten_on_resync(
    cluster: Cluster, running: Controller
) -> None:
    await create(cluster, router_config())
    await config_valid(cluster, "True")
    status_path = RC_PATH + "/team/status"
    writes = len(list(cluster.emulator["patch"][status_path]))
    events = len(cluster.emulator.all("events"))
    seen = running.reconciled
    await cluster.eventually(lambda: running.reconciled >= seen + 2, what="two more resyncs")
    assert len(list(cluster.emulator["patch"][status_path])) == writes  # no status churn, no watch storm
    assert len(cluster.emulator.all("events")) == events
