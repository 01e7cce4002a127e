"""Golden tests of the pure renderer: golden/<case>/resource.yaml → expected.yaml, and every rendered
manifest validated against the real Kubernetes schemas (kubernetes-validate, strict).

Regenerate after an intended change with `UPDATE_GOLDEN=1 pytest tests/controller/test_render_golden.py`
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from controller.configcheck import check_resource
from controller.render import render_children
from controller.render_cli import render_command, to_yaml
from controller.spec import parse_resource

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "resource.yaml").exists())
K8S_VERSIONS = ("1.29.0", "1.33.0")


def render_case(case: str) -> list[dict[str, Any]]:
    resource = parse_resource(yaml.safe_load((GOLDEN / case / "resource.yaml").read_text()))
    check = check_resource(resource)
    assert check.valid and check.config is not None, check.message()
    return render_children(resource, check.config)


@pytest.mark.parametrize("case", CASES)
def test_render_matches_golden(case: str) -> None:
    rendered = render_case(case)
    expected_file = GOLDEN / case / "expected.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(to_yaml(rendered))
    expected = list(yaml.safe_load_all(expected_file.read_text()))
    assert rendered == expected


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_rendered_manifests_pass_kubernetes_schemas(case: str, version: str) -> None:
    for manifest in render_case(case):
        if manifest["kind"] == "ServiceMonitor":
            continue  # a Prometheus Operator CR: no built-in schema (its shape is in the golden file)
        kubernetes_validate.validate(manifest, version, strict=True)


def test_schema_validation_really_rejects_a_broken_deployment() -> None:
    deployment = next(m for m in render_case("full") if m["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["portz"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


def test_full_case_wires_secrets_by_reference_only() -> None:
    children = {m["kind"]: m for m in render_case("full")}
    pod = children["Deployment"]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    # Explicit references win; the rest come from the spec's secretName, keyed by the variable name.
    assert env["TOKEN_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "router-signing", "key": "secret"}
    assert env["ROUTER_ADMIN_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "router-admin", "key": "key"}
    assert env["LITELLM_MASTER_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "litellm", "key": "master-key"}
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "platform-env", "key": "REDIS_URL"}
    assert all(
        "value" not in e
        for name, e in env.items()
        if name not in ("ROUTER_CONFIG", "CLAUDE_CODE_HOME", "DATA_DIR")
    )
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/data/claude/main"]["readOnly"] is True
    assert mounts["/home/router/.claude-backup"]["readOnly"] is True
    assert mounts["/run/secrets/anthropic-files-key"]["subPath"] == "anthropic-files-key"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["claude-main"]["secret"]["secretName"] == "claude-max-main"
    assert volumes["claude-backup"]["secret"]["secretName"] == "platform-claude-backup"
    # No Secret is ever rendered: the controller only points at them.
    assert "Secret" not in children
    assert children["ServiceMonitor"]["spec"]["endpoints"][0] == {
        "port": "metrics",
        "path": "/metrics",
        "interval": "15s",
    }


@pytest.mark.parametrize("case", CASES)
def test_gateway_pods_meet_the_restricted_pod_security_standard(case: str) -> None:
    deployment = next(m for m in render_case(case) if m["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    assert all("hostPath" not in v for v in pod["volumes"])
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["readOnlyRootFilesystem"] is True
        assert all(p["containerPort"] >= 1024 for p in container["ports"])  # no privileged ports needed


@pytest.mark.parametrize(
    "source",
    [*sorted((ROOT / "examples").glob("*.lino")), ROOT / "akash" / "router.lino"],
    ids=lambda p: p.name,
)
def test_config_render_kubernetes_of_every_example_passes_the_schemas(source: Path) -> None:
    code, text = render_command(str(source), "kubernetes", name=f"ex-{source.stem}", namespace="ai")
    if code != 0:  # a local-only config (loopback host) is refused with the reason, never half-rendered
        assert code == 1 and text.startswith(f"{source}:") and "127.0.0.1" in text, text
        return
    manifests = [m for m in yaml.safe_load_all(text) if m]
    kinds = [m["kind"] for m in manifests]
    # Without redis the token store is on a claim; with it, no claim.
    claim = ["PersistentVolumeClaim"] if "redis:" not in source.read_text() else []
    assert kinds[: 3 + len(claim)] == ["ConfigMap", *claim, "Deployment", "Service"]
    assert {m["metadata"]["name"] for m in manifests} <= {
        f"ex-{source.stem}",
        f"ex-{source.stem}-config",
        f"ex-{source.stem}-data",
    }
    assert {m["metadata"]["namespace"] for m in manifests} == {"ai"}
    for manifest in manifests:
        if manifest["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(manifest, K8S_VERSIONS[-1], strict=True)
