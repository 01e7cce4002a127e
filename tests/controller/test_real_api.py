"""Against a real Kubernetes API server for custom resources (etcd + apiextensions-apiserver): the CRD is
structural and accepted, bad specs get 422, defaults apply, the controller's status lands through the
status subresource, stale writes get 409, and `kubectl apply` of the example works.

Skipped, with `SKIPPED: real CRD API server unavailable: <reason>` in the log, only when the server
cannot be built or started here; once it runs, every check counts.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.configcheck import check_resource
from controller.kube import KubeApiError, KubeClient, object_path
from controller.main import api_client
from controller.reconcile import reconcile
from controller.runner import Controller
from controller.spec import parse_resource
from controller.status import compute_status
from tests.controller import tools
from tests.controller.realapi import RealApiServer

CHART = Path(__file__).resolve().parents[2] / "charts" / "link-assistant-router"
CRD = CHART / "crds" / "routerconfigs.router.link-assistant.dev.yaml"
EXAMPLE = CHART / "examples" / "routerconfig.yaml"
NS = "default"
# The first test may pay the one-time build of the API server (minutes); every step below has its own
# short timeout, so this only lifts the suite-wide per-test limit.
pytestmark = pytest.mark.timeout(1500)
NOW = "2026-01-01T00:00:00Z"


def kubectl(server: RealApiServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tools.kubectl(), "--kubeconfig", str(server.shim_kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def api(real_api: RealApiServer) -> Iterator[KubeClient]:
    """A client of the real server, with the RouterConfig CRD installed by `kubectl apply`."""
    applied = kubectl(real_api, "apply", "-f", str(CRD))
    assert applied.returncode == 0, applied.stderr
    established = kubectl(
        real_api,
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        "crd/routerconfigs.router.link-assistant.dev",
    )
    assert established.returncode == 0, established.stderr
    yield KubeClient(api_client(str(real_api.kubeconfig)), timeout=10)


def rc(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "router.link-assistant.dev/v1alpha1",
        "kind": "RouterConfig",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def create(api: KubeClient, body: dict[str, Any]) -> dict[str, Any]:
    return api.request(
        "POST", object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS), body=body
    )


def test_crd_is_structural_and_served(api: KubeClient) -> None:
    crd = api.get(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/routerconfigs.router.link-assistant.dev"
    )
    assert crd is not None
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions.get("Established") == "True"
    assert conditions.get("NonStructuralSchema") is None


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"config": "x", "replicas": -1}, "spec.replicas"),
        ({"replicas": 1}, "spec.config"),
        ({"config": "x", "imagePullPolicy": "Sometimes"}, "spec.imagePullPolicy"),
        (
            {"config": "x", "providerKeyRefs": [{"env": "1BAD", "secretKeyRef": {"name": "s", "key": "k"}}]},
            "spec.providerKeyRefs[0].env",
        ),
        ({"config": "x", "serviceMonitor": {"interval": "soon"}}, "spec.serviceMonitor.interval"),
    ],
)
def test_bad_spec_is_rejected_with_422(api: KubeClient, spec: dict[str, Any], field: str) -> None:
    with pytest.raises(KubeApiError) as caught:
        create(api, rc("bad", spec))
    assert caught.value.status == 422
    assert field in caught.value.message


@pytest.mark.parametrize("name", ["9lives", "a" * 48])
def test_a_name_that_cannot_name_a_service_is_rejected_with_422(api: KubeClient, name: str) -> None:
    with pytest.raises(KubeApiError) as caught:
        create(api, rc(name, {"config": "x"}))
    assert caught.value.status == 422
    assert "it names the gateway's Service" in caught.value.message


def test_defaults_are_applied_by_the_server(api: KubeClient) -> None:
    created = create(api, rc("defaults", {"config": "server:\n  port 8080\n"}))
    spec = created["spec"]
    assert (spec["replicas"], spec["imagePullPolicy"], spec["serviceType"]) == (
        1,
        "IfNotPresent",
        "ClusterIP",
    )


def test_controller_status_lands_through_the_status_subresource(api: KubeClient) -> None:
    created = create(api, rc("status", {"config": "server:\n  port 8080\n", "replicas": 2}))
    resource = parse_resource(created)
    status = compute_status(resource, check_resource(resource), None, {}, NOW)
    api.patch_status(NS, "status", status)
    path = object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS, "status")
    live = api.get(path)
    assert live is not None
    assert live["status"] == status  # every field the controller writes survives the schema's pruning
    assert {c["type"]: c["status"] for c in live["status"]["conditions"]} == {
        "ConfigValid": "True",
        "Ready": "False",
    }
    assert live["metadata"]["generation"] == created["metadata"]["generation"]  # status writes never bump it
    # Through the main resource, status is ignored: only the subresource may write it.
    api.request(
        "PATCH", path, body={"status": {"configHash": "forged"}}, content_type="application/merge-patch+json"
    )
    assert (api.get(path) or {})["status"]["configHash"] == status["configHash"]


def test_reconcile_of_an_invalid_config_reports_it_in_status(
    api: KubeClient, real_api: RealApiServer
) -> None:
    create(api, rc("broken", {"config": "server:\n  port abc\n"}))
    outcome = reconcile(api, NS, "broken", lambda: NOW)
    assert outcome.found and not outcome.valid and outcome.status_written
    live = api.get(object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS, "broken")) or {}
    valid = next(c for c in live["status"]["conditions"] if c["type"] == "ConfigValid")
    assert (valid["status"], valid["reason"]) == ("False", "InvalidConfig")
    assert ":2:3:" in valid["message"]
    listing = kubectl(real_api, "get", "routerconfigs", "broken")
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "READY", "REPLICAS", "CONFIG-VALID", "AGE"]
    assert row.split()[:4] == ["broken", "False", "1", "False"]


def test_a_stale_write_gets_a_409_the_controller_treats_as_retryable(api: KubeClient) -> None:
    created = create(api, rc("stale", {"config": "server:\n  port 8080\n"}))
    path = object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS, "stale")
    fresh = dict(created, spec={**created["spec"], "replicas": 3})
    api.request("PUT", path, body=fresh)
    stale = dict(created, spec={**created["spec"], "replicas": 5})  # carries the old resourceVersion
    with pytest.raises(KubeApiError) as caught:
        api.request("PUT", path, body=stale)
    assert caught.value.status == 409 and caught.value.retryable


def test_kubectl_apply_of_the_example_routerconfig(api: KubeClient, real_api: RealApiServer) -> None:
    server = real_api
    applied = kubectl(server, "apply", "--validate=false", "-f", str(EXAMPLE))
    assert applied.returncode == 0, applied.stderr
    assert "routerconfig.router.link-assistant.dev/team-router created" in applied.stdout
    live = api.get(object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS, "team-router"))
    example = yaml.safe_load(EXAMPLE.read_text())
    assert live is not None and live["spec"]["config"] == example["spec"]["config"]
    assert check_resource(parse_resource(live)).valid  # and the controller would accept its DSL
    again = kubectl(server, "apply", "--validate=false", "-f", str(EXAMPLE))
    assert again.returncode == 0 and "unchanged" in again.stdout


def _wait(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_the_controller_loop_runs_against_the_real_crd_server(
    real_api: RealApiServer, api: KubeClient, tmp_path: Path
) -> None:
    """Custom resources (watch, status subresource) are the real server's; core types go to kmock."""
    client = KubeClient(api_client(str(real_api.shim_kubeconfig)), timeout=10)
    controller = Controller(kube=client, namespace=NS, resync_seconds=2)
    thread = threading.Thread(target=controller.run, daemon=True, name="controller-real-api")
    thread.start()
    manifest = tmp_path / "loop.yaml"
    rc_path = object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS, "loop")
    deployment_path = object_path("apps/v1", "Deployment", NS, "loop")
    try:
        good = rc("loop", {"config": "server:\n  port 8080\n", "replicas": 2})
        manifest.write_text(yaml.safe_dump(good))
        assert kubectl(real_api, "apply", "--validate=false", "-f", str(manifest)).returncode == 0
        uid = (api.get(rc_path) or {})["metadata"]["uid"]
        deployment = _wait(lambda: client.get(deployment_path), "the Deployment")
        assert deployment["metadata"]["ownerReferences"][0]["uid"] == uid
        template_before = deployment["spec"]["template"]

        def row() -> list[str]:
            out = kubectl(real_api, "get", "routerconfigs", "loop", "--no-headers").stdout.split()
            return out[:4]

        _wait(lambda: row() == ["loop", "False", "2", "True"], "CONFIG-VALID True, READY False")
        # The ready pods a kube-controller-manager would report show up as Ready in the real status.
        client.request(
            "PATCH",
            deployment_path + "/status",
            body={"status": {"readyReplicas": 2}},
            content_type="application/merge-patch+json",
        )
        _wait(lambda: row() == ["loop", "True", "2", "True"], "READY True")

        bad = rc("loop", {"config": "server:\n  port abc\n", "replicas": 2})
        manifest.write_text(yaml.safe_dump(bad))
        assert kubectl(real_api, "apply", "--validate=false", "-f", str(manifest)).returncode == 0
        _wait(lambda: row() == ["loop", "True", "2", "False"], "CONFIG-VALID False")
        status = (api.get(rc_path) or {})["status"]
        valid = next(c for c in status["conditions"] if c["type"] == "ConfigValid")
        assert ":2:3:" in valid["message"] and status["observedGeneration"] == 2
        events = [e for e in real_api.core.all("events") if e["involvedObject"]["uid"] == uid]
        assert any(e["reason"] == "InvalidConfig" for e in events)
        assert (client.get(deployment_path) or {})["spec"]["template"] == template_before  # pods untouched
    finally:
        controller.shutdown()
        thread.join(5)
