"""The charts for real clusters: values.schema.json makes `helm lint --strict` (and install) reject bad
values; pod options, Service annotations, default resources and the optional NetworkPolicy render valid
objects; the gateway chart keeps its token store (a claim for one pod, its own small Redis or an existing
one for several) and refuses several pods without Redis."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.controller import tools
from tests.controller.test_charts import CONTROLLER_CHART, GATEWAY_CHART, K8S_VERSION, documents

REDIS_CONFIG = "server:\n  port 8080\nredis:\n  url-env REDIS_URL\n"


def secret_env(name: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": "router-secrets", "key": name}}}


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        binary = tools.helm()
    except tools.ToolUnavailable as exc:  # required, not skipped: .ci/run prepares it
        pytest.fail(f"helm unavailable: {exc}")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def template(chart: Path, values: dict[str, Any], tmp_path: Path, *extra: str) -> list[dict[str, Any]]:
    file = tmp_path / "values.yaml"
    file.write_text(yaml.safe_dump(values))
    done = run_helm("template", "router", str(chart), "-f", str(file), "--namespace", "ai", *extra)
    assert done.returncode == 0, done.stderr
    docs = documents(done.stdout)
    for doc in docs:
        if doc["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    return docs


@pytest.mark.parametrize(
    ("chart", "setting", "message"),
    [
        (GATEWAY_CHART, "replicas=three", "/replicas"),
        (GATEWAY_CHART, "service.type=Ingress", "/service/type"),
        (GATEWAY_CHART, "persistence.size=lots", "/persistence/size"),
        (GATEWAY_CHART, "imagePullSecret=regcred", "imagePullSecret"),  # a typo is not silently ignored
        (GATEWAY_CHART, "networkPolicy.enabled=maybe", "/networkPolicy/enabled"),
        (GATEWAY_CHART, "redis.urlEnv=1BAD", "/redis/urlEnv"),
        (GATEWAY_CHART, "prometheusRule.enabled=sometimes", "/prometheusRule/enabled"),
        (GATEWAY_CHART, "grafanaDashboard.colour=red", "colour"),
        (CONTROLLER_CHART, "resyncSeconds=soon", "/resyncSeconds"),
        (CONTROLLER_CHART, "image.pullPolicy=Sometimes", "/image/pullPolicy"),
        (CONTROLLER_CHART, "watchNamespace=Not_A_Namespace", "/watchNamespace"),
        (CONTROLLER_CHART, "replicas=2", "replicas"),  # the controller chart calls it replicaCount
    ],
)
def test_helm_lint_strict_rejects_bad_values(chart: Path, setting: str, message: str) -> None:
    done = run_helm("lint", "--strict", str(chart), "--set", setting)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr, done.stdout + done.stderr


def test_several_gateways_without_redis_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "values.yaml"
    file.write_text(yaml.safe_dump({"replicas": 3}))
    done = run_helm("template", "router", str(GATEWAY_CHART), "-f", str(file))
    assert done.returncode != 0
    assert (
        "replicas: 3 without redis: each pod would keep its own keys, revocations and budgets" in done.stderr
    )
    file.write_text(yaml.safe_dump({"redis": {"enabled": True}}))
    done = run_helm("template", "router", str(GATEWAY_CHART), "-f", str(file))
    assert done.returncode != 0 and "config has no `redis:` block" in done.stderr


def test_one_gateway_keeps_its_store_on_a_claim(tmp_path: Path) -> None:
    docs = template(GATEWAY_CHART, {"persistence": {"size": "5Gi", "storageClass": "ssd"}}, tmp_path)
    kinds = {d["kind"]: d for d in docs}
    claim = kinds["PersistentVolumeClaim"]
    assert claim["metadata"]["name"] == "router-data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["storageClassName"] == "ssd"
    deployment = kinds["Deployment"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "router-data"}} in volumes
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 65  # shutdown-grace 60 s + 5 s
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }


def test_several_gateways_with_the_charts_redis_and_every_pod_option(tmp_path: Path) -> None:
    options = {
        "config": REDIS_CONFIG,
        "replicas": 3,
        "redis": {"enabled": True},
        "env": [secret_env("TOKEN_SECRET"), secret_env("REDIS_URL")],
        "imagePullSecrets": [{"name": "regcred"}],
        "nodeSelector": {"pool": "gateways"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                       "whenUnsatisfiable": "ScheduleAnyway"}],
        "podAnnotations": {"team": "ai"},
        "service": {"type": "LoadBalancer", "annotations": {"lb": "internal"}},
        "networkPolicy": {"enabled": True, "adminFrom": [{"podSelector": {"matchLabels": {"role": "ops"}}}]},
    }  # fmt: skip
    docs = template(GATEWAY_CHART, options, tmp_path)
    named = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert ("PersistentVolumeClaim", "router-data") not in named  # the state is in Redis
    kinds = ("Deployment", "Service", "PersistentVolumeClaim", "NetworkPolicy")
    redis_objects = {(kind, "router-redis") for kind in kinds}
    assert redis_objects | {("NetworkPolicy", "router")} <= set(named)
    gateway = named[("Deployment", "router")]
    assert gateway["spec"]["replicas"] == 3 and gateway["spec"]["strategy"]["type"] == "RollingUpdate"
    pod = gateway["spec"]["template"]["spec"]
    for key in ("imagePullSecrets", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints"):
        assert pod[key] == options[key], key
    assert gateway["spec"]["template"]["metadata"]["annotations"]["team"] == "ai"
    env = pod["containers"][0]["env"]
    redis = [e for e in env if e["name"] == "REDIS_URL"]
    assert redis == [{"name": "REDIS_URL", "value": "redis://router-redis:6379/0"}]  # the chart's Redis wins
    assert named[("Service", "router")]["metadata"]["annotations"] == {"lb": "internal"}
    assert named[("PodDisruptionBudget", "router")]["spec"]["maxUnavailable"] == 1
    policy = named[("NetworkPolicy", "router")]["spec"]
    assert policy["ingress"][0]["from"] == [{"podSelector": {}}]
    assert policy["ingress"][1]["from"] == options["networkPolicy"]["adminFrom"]
    assert named[("Deployment", "router-redis")]["spec"]["template"]["spec"]["containers"][0]["args"][:2] == [
        "--appendonly",
        "yes",
    ]


def test_controller_chart_pod_options(tmp_path: Path) -> None:
    options = {
        "imagePullSecrets": [{"name": "regcred"}],
        "nodeSelector": {"pool": "system"},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}
        ],
    }
    docs = template(CONTROLLER_CHART, options, tmp_path)
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    for key, value in options.items():
        assert pod[key] == value, key
    # Two images: the controller's has the Kubernetes client, the gateways' does not.
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/link-assistant/router-python-controller:0.1.0"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GATEWAY_IMAGE"] == "ghcr.io/link-assistant/router-python:0.1.0"
