"""Deployments keep their token store, and are named where the user says: the PersistentVolumeClaim of a
single gateway without Redis, the refusal of several without it (controller, `config validate`,
`config render`), `config render --name/--namespace`, and names the cluster itself uses refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from controller.configcheck import check_resource
from controller.render import render_children
from controller.render_cli import render_command
from controller.runner import Controller
from controller.spec import RouterConfigResource, SpecError, parse_resource
from tests.controller.conftest import Cluster
from tests.controller.test_loop import config_valid, create, live, patch_spec, router_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kubernetes.lino"
NO_REDIS = "server:\n  port 8080\n"
WITH_REDIS = "redis:\n  url-env REDIS_URL\n"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m for m in manifests}


def test_one_gateway_without_redis_keeps_its_store_on_a_claim() -> None:
    resource = parse_resource(
        {
            "metadata": {"name": "solo", "namespace": "team"},
            "spec": {"config": NO_REDIS, "storage": {"size": "5Gi", "storageClassName": "ssd"}},
        }
    )
    check = check_resource(resource)
    assert check.valid and check.config is not None
    objects = by_kind(render_children(resource, check.config))
    claim = objects["PersistentVolumeClaim"]
    assert claim["metadata"]["name"] == "solo-data" and claim["metadata"]["namespace"] == "team"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "5Gi"}},
        "storageClassName": "ssd",
    }
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data == {"name": "data", "persistentVolumeClaim": {"claimName": "solo-data"}}
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "data")
    assert mount["mountPath"] == "/data/router"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["DATA_DIR"] == "/data/router"  # the store the gateway opens is the one on the claim
    # One writer of a ReadWriteOnce claim: the old pod goes before the new one starts.
    assert objects["Deployment"]["spec"]["strategy"] == {"type": "Recreate"}
    for manifest in objects.values():
        kubernetes_validate.validate(manifest, "1.33.0", strict=True)


def test_with_redis_there_is_no_claim_and_pods_roll_surge_first() -> None:
    resource = RouterConfigResource(name="shared", namespace="team", config=WITH_REDIS, replicas=3)
    check = check_resource(resource)
    assert check.valid and check.config is not None
    objects = by_kind(render_children(resource, check.config))
    assert "PersistentVolumeClaim" not in objects
    assert objects["Deployment"]["spec"]["strategy"]["type"] == "RollingUpdate"
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert {"name": "data", "emptyDir": {}} in pod["volumes"]


def test_memory_policy_without_redis_is_refused() -> None:
    config = "storage:\n  policy memory\n"
    check = check_resource(RouterConfigResource(name="r", namespace="ns", config=config))
    assert not check.valid
    assert "storage policy memory without redis" in check.message()


@pytest.mark.parametrize("name", ["kubernetes", "kube-system", "kube-dns"])
def test_names_the_cluster_uses_are_refused(name: str) -> None:
    check = check_resource(RouterConfigResource(name=name, namespace="ns", config=NO_REDIS))
    assert not check.valid and check.problems[0].file == "metadata.name"
    assert "taken by the cluster itself" in check.message()


def test_render_of_the_kubernetes_example_needs_a_name_and_takes_a_namespace() -> None:
    code, text = render_command(str(EXAMPLE), "kubernetes")
    assert code == 1
    assert "'kubernetes' is taken by the cluster itself" in text and "pass --name" in text
    code, text = render_command(str(EXAMPLE), "kubernetes", name="router", namespace="ai", replicas=2)
    assert code == 0, text
    manifests = [m for m in yaml.safe_load_all(text) if m]
    assert {(m["kind"], m["metadata"]["namespace"], m["metadata"]["name"]) for m in manifests} == {
        ("ConfigMap", "ai", "router-config"),
        ("Deployment", "ai", "router"),
        ("Service", "ai", "router"),
        ("PodDisruptionBudget", "ai", "router"),
    }
    assert by_kind(manifests)["Deployment"]["spec"]["replicas"] == 2


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        ({"name": "Bad_Name"}, 1, "cannot name the gateway's Service"),
        ({"name": "kube-router"}, 1, "taken by the cluster itself"),
        ({"namespace": "Not A Namespace"}, 2, "is not a DNS label"),
        ({"replicas": -1}, 2, "--replicas must be 0 or more"),
    ],
)
def test_render_placement_errors(kwargs: dict[str, Any], code: int, message: str) -> None:
    result = render_command(str(EXAMPLE), "kubernetes", **kwargs)
    assert result[0] == code and message in result[1], result


def test_config_render_and_validate_from_the_command_line(tmp_path: Path) -> None:
    solo = tmp_path / "solo.lino"
    solo.write_text(NO_REDIS)
    done = cli(
        "config", "render", str(solo), "--target", "kubernetes", "--namespace", "ai",
        "--storage-size", "3Gi", "--storage-class", "standard",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    claim = by_kind([m for m in yaml.safe_load_all(done.stdout) if m])["PersistentVolumeClaim"]
    assert claim["metadata"] == {**claim["metadata"], "name": "solo-data", "namespace": "ai"}
    assert claim["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert claim["spec"]["storageClassName"] == "standard"

    refused = cli("config", "render", str(solo), "--target", "kubernetes", "--replicas", "2")
    assert refused.returncode == 1 and "2 replicas without redis" in refused.stderr

    assert cli("config", "validate", str(solo)).returncode == 0  # a file alone says nothing of replicas
    split = cli("config", "validate", "--replicas", "3", str(solo))
    assert split.returncode == 1
    assert f"{solo}: 3 replicas without redis: each pod would keep its own keys" in split.stderr
    assert f"{solo}: invalid (1 problem)" in split.stdout
    shared = tmp_path / "shared.lino"
    shared.write_text(WITH_REDIS)
    assert cli("config", "validate", "--replicas", "3", str(shared)).returncode == 0
    assert cli("config", "validate", "--replicas", "two", str(shared)).returncode == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"nodeSelector": ["a"]}, "spec.nodeSelector must be an object of strings"),
        ({"tolerations": {"key": "x"}}, "spec.tolerations must be a list of objects"),
        ({"imagePullSecrets": [{}]}, "spec.imagePullSecrets[0].name must be a non-empty string"),
        ({"storage": {"size": ""}}, "spec.storage.size must be a non-empty string"),
        ({"affinity": "close"}, "spec.affinity must be an object"),
    ],
)
def test_malformed_pod_options_are_refused_with_the_field_named(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_resource({"metadata": {"name": "r"}, "spec": {"config": NO_REDIS, **spec}})


async def test_the_controller_applies_the_claim_and_refuses_split_state(
    cluster: Cluster, running: Controller
) -> None:
    """Through the real controller loop (kmock's API emulator): one gateway without Redis gets its claim
    and mounts it; asking for three without Redis sets ConfigValid=False and leaves the pods alone."""
    body = router_config(NO_REDIS)
    body["spec"].update(replicas=1, storage={"size": "4Gi"})
    await create(cluster, body)
    claim = await cluster.eventually(
        lambda: live(cluster, "persistentvolumeclaims", "team-data"), what="the claim"
    )
    assert claim["spec"]["resources"]["requests"]["storage"] == "4Gi"
    assert claim["metadata"]["ownerReferences"][0]["kind"] == "RouterConfig"
    deployment = await cluster.eventually(lambda: live(cluster, "deployments"), what="the Deployment")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "team-data"}} in volumes
    await config_valid(cluster, "True")

    await patch_spec(cluster, "team", {"replicas": 3})
    invalid = await config_valid(cluster, "False")
    assert "3 replicas without redis" in invalid["message"] and "url-env REDIS_URL" in invalid["message"]
    assert (live(cluster, "deployments") or {})["spec"]["replicas"] == 1  # the running gateway is kept
