"""Helm charts: `helm lint --strict` and `helm template` pass; every rendered object passes the real
Kubernetes schemas; the controller's RBAC is least-privilege; the CRD agrees with the code; and the gateway
chart fed by `config render --target helm-values` yields the same pods as the controller renders."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from controller import names
from controller.configcheck import check_resource
from controller.helm_values import render_values
from controller.leader import LeaderElector
from controller.render import render_children
from controller.render_cli import to_yaml
from controller.runner import Controller
from controller.spec import parse_resource
from tests.controller import tools
from tests.controller.conftest import Cluster
from tests.controller.test_loop import create, live, patch_spec, router_config

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER_CHART = ROOT / "charts" / "link-assistant-router"
GATEWAY_CHART = ROOT / "charts" / "link-assistant-router-gateway"
GOLDEN = Path(__file__).parent / "golden"
K8S_VERSION = "1.30.0"


def helm(*args: str) -> str:
    try:
        binary = tools.helm()
    except tools.ToolUnavailable as exc:  # required, not skipped: .ci/run prepares it
        pytest.fail(f"helm unavailable: {exc}")
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.mark.parametrize("chart", [CONTROLLER_CHART, GATEWAY_CHART], ids=lambda p: p.name)
def test_helm_lint_is_clean(chart: Path) -> None:
    out = helm("lint", "--strict", str(chart))
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize(
    "extra", [[], ["--set", "watchNamespace=teams", "--set", "rbac.serviceMonitors=false"]]
)
def test_controller_chart_templates_valid_objects(extra: list[str]) -> None:
    docs = documents(
        helm("template", "lar", str(CONTROLLER_CHART), "--namespace", "ops", "--include-crds", *extra)
    )
    kinds = sorted(d["kind"] for d in docs)
    role = "Role" if extra else "ClusterRole"
    expected = ["CustomResourceDefinition", "ServiceAccount", role, f"{role}Binding", "Deployment", "Service"]
    assert kinds == sorted([*expected, "Role", "RoleBinding"])  # + the leader-election Lease's Role
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["controller"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LEADER_ELECT"] == "true"
    assert env["WATCH_NAMESPACE"] == ("teams" if extra else "")
    assert env["GATEWAY_IMAGE"] == "ghcr.io/link-assistant/router-python:0.1.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_controller_metrics_service_and_optional_service_monitor() -> None:
    docs = documents(helm("template", "lar", str(CONTROLLER_CHART), "--namespace", "ops"))
    assert "ServiceMonitor" not in {d["kind"] for d in docs}  # off unless asked: it needs its CRD
    docs = documents(
        helm(
            "template",
            "lar",
            str(CONTROLLER_CHART),
            "--namespace",
            "ops",
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "metrics.serviceMonitor.interval=15s",
        )
    )
    by_kind = {d["kind"]: d for d in docs}
    pod = by_kind["Deployment"]["spec"]["template"]
    service, monitor = by_kind["Service"], by_kind["ServiceMonitor"]
    kubernetes_validate.validate(service, K8S_VERSION, strict=True)
    pod_labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["health"] and "health" in container_ports
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]


def test_controller_rbac_is_least_privilege() -> None:
    docs = documents(helm("template", "lar", str(CONTROLLER_CHART)))
    rules = next(d for d in docs if d["kind"] == "ClusterRole")["rules"]
    lease_rules = next(d for d in docs if d["kind"] == "Role")["rules"]
    assert lease_rules == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "patch"]}
    ]
    granted = {
        (g, r, v)
        for rule in rules
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert not any("*" in entry for entry in granted)
    assert not any(r in ("secrets", "pods", "pods/exec") for _, r, _ in granted)  # Secrets by reference only
    deletable = {r for _, r, v in granted if v == "delete"}
    assert deletable == {"servicemonitors", "poddisruptionbudgets"}
    needed = {
        ("router.link-assistant.dev", "routerconfigs", "watch"),
        ("router.link-assistant.dev", "routerconfigs/status", "patch"),
        ("apps", "deployments", "patch"),
        ("apps", "deployments", "watch"),
        ("", "configmaps", "patch"),
        ("", "services", "patch"),
        ("", "events", "create"),
    }
    assert needed <= granted
    assert not any(
        g == "router.link-assistant.dev" and r == "routerconfigs" and v in ("patch", "update", "delete")
        for g, r, v in granted
    )  # the spec belongs to the user


def test_crd_matches_the_code() -> None:
    crd = yaml.safe_load((CONTROLLER_CHART / "crds" / f"{names.PLURAL}.{names.GROUP}.yaml").read_text())
    kubernetes_validate.validate(crd, K8S_VERSION, strict=True)
    assert crd["spec"]["group"] == names.GROUP and crd["spec"]["names"]["kind"] == names.KIND
    assert crd["spec"]["names"]["plural"] == names.PLURAL and crd["spec"]["scope"] == "Namespaced"
    version = crd["spec"]["versions"][0]
    assert version["name"] == names.VERSION and version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert [c.upper() for c in columns] == ["READY", "REPLICAS", "CONFIG-VALID", "AGE"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for field in (
        "config",
        "replicas",
        "image",
        "tokenSecretRef",
        "adminKeyRef",
        "providerKeyRefs",
        "accountCredentialRefs",
        "resources",
        "serviceMonitor",
    ):
        assert field in spec


def _without_owner_labels(obj: dict[str, Any]) -> dict[str, Any]:
    """What both renderings must share: everything but Helm's bookkeeping labels and ownerReferences."""
    clean = yaml.safe_load(yaml.safe_dump(obj))
    for meta in (clean["metadata"], (clean.get("spec", {}).get("template") or {}).get("metadata") or {}):
        meta.pop("ownerReferences", None)
        for label in ("app.kubernetes.io/managed-by", "helm.sh/chart"):
            (meta.get("labels") or {}).pop(label, None)
    return dict(clean)


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_gateway_chart_with_rendered_values_equals_the_controller_output(case: str, tmp_path: Path) -> None:
    resource = parse_resource(yaml.safe_load((GOLDEN / case / "resource.yaml").read_text()))
    check = check_resource(resource)
    assert check.config is not None
    values = tmp_path / "values.yaml"
    values.write_text(to_yaml([render_values(resource, check.config)]))
    docs = documents(
        helm(
            "template",
            resource.name,
            str(GATEWAY_CHART),
            "-f",
            str(values),
            "--namespace",
            resource.namespace,
        )
    )
    for doc in docs:
        if doc["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    from_helm = {d["kind"]: _without_owner_labels(d) for d in docs}
    from_controller = {d["kind"]: _without_owner_labels(d) for d in render_children(resource, check.config)}
    assert from_helm == from_controller


def _verbs(request: Any) -> set[str]:
    """The RBAC verbs a request needs (server-side apply may create, so it needs both)."""
    if request.method == "GET":
        if request.name:
            return {"get"}
        return {"watch"} if request.params.get("watch") == "true" else {"list"}
    if request.method == "PATCH" and "apply-patch" in request.headers.get("Content-Type", ""):
        return {"create", "patch"}
    return {{"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}[request.method]}


async def test_the_chart_grants_exactly_what_the_running_controller_uses(cluster: Cluster) -> None:
    """Least privilege, checked against behaviour: every request the controller makes in a full life cycle
    (leader election, create with every optional child, shrink, invalid config, stop) is allowed by the
    chart's roles, and every permission the chart grants is used."""
    controller = Controller(
        kube=cluster.kube,
        namespace="default",
        resync_seconds=1.0,
        elector=LeaderElector(cluster.kube, "default", "rbac-test", duration_seconds=3),
    )
    thread = threading.Thread(target=controller.run, daemon=True, name="controller-rbac")
    thread.start()
    try:
        body = router_config()
        body["spec"]["serviceMonitor"] = {"enabled": True}
        await create(cluster, body)
        await cluster.eventually(lambda: live(cluster, "servicemonitors"), what="the ServiceMonitor")
        await cluster.eventually(lambda: live(cluster, "poddisruptionbudgets"), what="the PDB")
        await patch_spec(cluster, "team", {"replicas": 1, "serviceMonitor": {"enabled": False}})
        await cluster.eventually(
            lambda: not live(cluster, "servicemonitors") and not live(cluster, "poddisruptionbudgets"),
            what="optional children dropped",
        )
        await patch_spec(cluster, "team", {"config": "server:\n  port abc\n"})
        await cluster.eventually(
            lambda: any(e["reason"] == "InvalidConfig" for e in cluster.emulator.all("events")),
            what="an InvalidConfig event",
        )
    finally:
        controller.shutdown()
        await cluster.eventually(lambda: not thread.is_alive(), timeout=5, what="the controller to stop")

    used = {
        (
            request.resource.group or "",
            f"{request.resource.plural}/{request.subresource}"
            if request.subresource
            else request.resource.plural,
            verb,
        )
        for request in cluster.emulator
        if request.resource is not None
        and request.headers.get("User-Agent", "").startswith("OpenAPI-Generator")
        for verb in _verbs(request)
    }
    docs = documents(helm("template", "lar", str(CONTROLLER_CHART)))
    granted = {
        (group, resource, verb)
        for doc in docs
        if doc["kind"] in ("ClusterRole", "Role")
        for rule in doc["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert not used - granted, f"the chart does not grant what the controller uses: {sorted(used - granted)}"
    assert not granted - used, f"the chart grants what the controller never uses: {sorted(granted - used)}"


def test_controller_chart_values_set_image_and_resources() -> None:
    docs = documents(
        helm(
            "template",
            "lar",
            str(CONTROLLER_CHART),
            "--set",
            "image.repository=registry.test/router,image.tag=9.9.9",
            "--set",
            "resources.limits.memory=1Gi,resources.requests.cpu=200m",
            "--set",
            "gatewayImage=registry.test/gateway:1",
        )
    )
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.test/router:9.9.9"
    assert container["resources"]["limits"]["memory"] == "1Gi"
    assert container["resources"]["requests"]["cpu"] == "200m"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GATEWAY_IMAGE"] == "registry.test/gateway:1"  # what RouterConfigs without spec.image run
