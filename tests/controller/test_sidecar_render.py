"""`config render --target sidecar`: the kustomize patch that adds the gateway to an app as a native
sidecar. examples/sidecar is built with the real `kubectl kustomize` and the result validated against
the Kubernetes schemas (strict; native sidecars need 1.29+, and a 1.27 schema really rejects them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from controller.configcheck import check_resource
from controller.render_cli import render_command
from controller.sidecar import SOCKET_PATH, sidecar_patch
from controller.spec import Workload, resource_from_config_file
from tests.controller import tools

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sidecar"
K8S_VERSIONS = ("1.29.0", "1.33.0")


APP = Workload()


def patch_for(text: str, workload: Workload = APP) -> dict[str, Any]:
    resource = resource_from_config_file("router", text)
    check = check_resource(resource)
    assert check.config is not None, check.message()
    return sidecar_patch(resource, check.config, workload)


@pytest.fixture(scope="module")
def built() -> list[dict[str, Any]]:
    done = subprocess.run(
        [tools.kubectl(), "kustomize", str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=True
    )
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def test_the_example_patch_is_what_config_render_prints() -> None:
    code, output = render_command(
        str(EXAMPLE / "router.lino"), "sidecar", workload="agent", container="agent"
    )
    assert code == 0, output
    assert output == (EXAMPLE / "router-sidecar.yaml").read_text(encoding="utf-8")


def test_the_cli_renders_the_patch(tmp_path: Path) -> None:
    config = tmp_path / "router.lino"
    config.write_text("storage:\n  policy memory\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "config", "render", str(config), "--target", "sidecar",
         "--workload", "StatefulSet/agent"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    patch = yaml.safe_load(done.stdout)
    assert (patch["kind"], patch["metadata"]["name"]) == ("StatefulSet", "agent")


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_the_kustomized_example_passes_the_kubernetes_schemas(
    built: list[dict[str, Any]], version: str
) -> None:
    assert sorted(doc["kind"] for doc in built) == ["ConfigMap", "Deployment", "PersistentVolumeClaim"]
    for doc in built:
        kubernetes_validate.validate(doc, version, strict=True)


def test_a_schema_without_native_sidecars_rejects_it(built: list[dict[str, Any]]) -> None:
    deployment = next(doc for doc in built if doc["kind"] == "Deployment")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.27.0", strict=True)


def test_the_kustomized_pod_runs_the_gateway_as_a_native_sidecar(built: list[dict[str, Any]]) -> None:
    config_map = next(doc for doc in built if doc["kind"] == "ConfigMap")
    pod = next(doc for doc in built if doc["kind"] == "Deployment")["spec"]["template"]["spec"]
    [gateway] = pod["initContainers"]
    assert gateway["restartPolicy"] == "Always"  # starts before the app, stops after it
    assert {"startupProbe", "readinessProbe", "livenessProbe", "resources"} <= gateway.keys()
    volumes = {v["name"]: v for v in pod["volumes"]}
    # kustomize points the config volume at its hashed ConfigMap, so a config change rolls the pods.
    assert volumes["router-config"]["configMap"]["name"] == config_map["metadata"]["name"]
    assert volumes["router-data"]["persistentVolumeClaim"] == {"claimName": "router-data"}
    assert volumes["router-socket"] == {"name": "router-socket", "emptyDir": {}}
    [app] = pod["containers"]
    assert app["image"] == "ghcr.io/example/agent:1.0" and app["ports"][0]["name"] == "http"  # kept
    env = {e["name"]: e for e in app["env"]}
    assert env["ANTHROPIC_BASE_URL"]["value"] == "http://127.0.0.1:8080"
    assert env["OPENAI_BASE_URL"]["value"] == "http://127.0.0.1:8080/v1"
    assert env["ANTHROPIC_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "router-key", "key": "key"}}
    gateway_env = {e["name"]: e.get("value") for e in gateway["env"]}
    assert gateway_env["ROUTER_SOCKET"] == SOCKET_PATH == env["LINK_ASSISTANT_ROUTER_SOCKET"]["value"]
    socket_dir = SOCKET_PATH.rsplit("/", 1)[0]
    assert {"name": "router-socket", "mountPath": socket_dir} in app["volumeMounts"]
    assert {"name": "router-socket", "mountPath": socket_dir} in gateway["volumeMounts"]
    key_file = gateway_env["ROUTER_DEFAULT_KEY_FILE"]
    key_mount = next(m for m in gateway["volumeMounts"] if m["name"] == "router-key")
    assert key_file.startswith(key_mount["mountPath"] + "/")


@pytest.mark.parametrize(
    ("policy", "volume"),
    [
        ("memory", {"emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}),
        ("text", {"persistentVolumeClaim": {"claimName": "router-data"}}),
        ("both", {"persistentVolumeClaim": {"claimName": "router-data"}}),
    ],
)
def test_the_store_volume_follows_the_storage_policy(policy: str, volume: dict[str, Any]) -> None:
    pod = patch_for(f"storage:\n  policy {policy}\n")["spec"]["template"]["spec"]
    data = next(v for v in pod["volumes"] if v["name"] == "router-data")
    assert data == {"name": "router-data", **volume}


def test_secrets_and_ports_of_the_config_follow_it_into_the_sidecar() -> None:
    text = "server:\n  port 9100\nredis:\n  url-env REDIS_URL\n"
    patch = patch_for(text, Workload("Deployment", "w", "main"))
    pod = patch["spec"]["template"]["spec"]
    [gateway] = pod["initContainers"]
    assert gateway["ports"] == [{"name": "router-http", "containerPort": 9100, "protocol": "TCP"}]
    env = {e["name"]: e for e in gateway["env"]}
    assert env["REDIS_URL"]["valueFrom"] == {"secretKeyRef": {"name": "router-secrets", "key": "REDIS_URL"}}
    assert pod["containers"][0]["name"] == "main"
    assert pod["containers"][0]["env"][0] == {"name": "ANTHROPIC_BASE_URL", "value": "http://127.0.0.1:9100"}


@pytest.mark.parametrize("text", ["DaemonSet/x", "Deployment/", "job/x"])
def test_other_workload_kinds_are_a_usage_error(text: str) -> None:
    code, output = render_command(str(EXAMPLE / "router.lino"), "sidecar", workload=text)
    assert code == 2 and "expected NAME, Deployment/NAME or StatefulSet/NAME" in output
