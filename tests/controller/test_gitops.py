"""The GitOps kit in examples/gitops: `kubectl kustomize` renders base and overlay into a ConfigMap made
from the `.lino` file and a RouterConfig whose configFrom names it, valid against the CRD's schema and
accepted by the controller; the Argo CD health check (Lua, run by lupa) maps sample statuses; the CI
snippet validates a tree of `.lino` files and fails, with line and column, on a broken one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from lupa import LuaRuntime

from controller.configcheck import check_resource
from controller.reconcile import resolve_config
from controller.spec import parse_resource
from tests.controller import tools

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "examples" / "gitops"
CRD = ROOT / "charts" / "link-assistant-router" / "crds" / "routerconfigs.router.link-assistant.dev.yaml"
BIN = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin"


def kustomize(folder: Path) -> list[dict[str, Any]]:
    try:
        binary = tools.kubectl()
    except tools.ToolUnavailable as exc:  # required, not skipped: .ci/run prepares it
        pytest.fail(f"kubectl unavailable: {exc}")
    result = subprocess.run(
        [binary, "kustomize", str(folder)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    return dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


class Reader:
    """The controller's ObjectReader over the rendered documents (what the cluster would hold)."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def get(self, kind: tuple[str, str], namespace: str, name: str) -> dict[str, Any] | None:
        return next(
            (
                d
                for d in self.docs
                if (d["apiVersion"], d["kind"]) == kind
                and d["metadata"]["name"] == name
                and d["metadata"].get("namespace", "default") == namespace
            ),
            None,
        )

    def wrote(self, obj: dict[str, Any]) -> None:
        return None


@pytest.mark.parametrize(
    ("folder", "namespace", "replicas"),
    [("base", "default", 1), ("overlays/production", "production", 2)],
)
def test_kustomize_renders_a_config_map_from_the_lino_file_and_a_router_config_using_it(
    folder: str, namespace: str, replicas: int
) -> None:
    docs = kustomize(KIT / folder)
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "RouterConfig"]
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    router_config = next(d for d in docs if d["kind"] == "RouterConfig")
    assert config_map["data"]["router.lino"] == (KIT / folder / "router.lino").read_text()
    ref = router_config["spec"]["configFrom"]["configMapKeyRef"]
    assert (ref["name"], ref["key"]) == (config_map["metadata"]["name"], "router.lino")
    jsonschema.validate(router_config, crd_schema())
    assert "config" not in router_config["spec"]  # the CRD's rule: exactly one source
    assert router_config["spec"]["replicas"] == replicas
    for doc in docs:
        doc["metadata"].setdefault("namespace", namespace)
    resource, missing = resolve_config(Reader(docs), parse_resource(router_config))
    assert missing is None
    check = check_resource(resource)
    assert check.valid, check.message()
    assert resource.namespace == namespace


def test_the_crd_schema_check_catches_a_broken_reference() -> None:
    broken = {
        "apiVersion": "router.link-assistant.dev/v1alpha1",
        "kind": "RouterConfig",
        "metadata": {"name": "r"},
        "spec": {"configFrom": {"configMapKeyRef": {"name": "x"}}},
    }
    with pytest.raises(jsonschema.ValidationError, match="'key' is a required property"):
        jsonschema.validate(broken, crd_schema())


def _health(obj: dict[str, Any]) -> tuple[str, str]:
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute((KIT / "argocd" / "routerconfig-health.lua").read_text())
    return str(result["status"]), str(result["message"])


def _status(
    generation: int, observed: int, valid: tuple[str, str, str], ready: tuple[str, str, str]
) -> dict[str, Any]:
    conditions = [
        {"type": kind, "status": status, "reason": reason, "message": message}
        for kind, (status, reason, message) in (("ConfigValid", valid), ("Ready", ready))
    ]
    return {
        "metadata": {"name": "r", "generation": generation},
        "status": {"observedGeneration": observed, "conditions": conditions},
    }


VALID = ("True", "Valid", "spec.config is valid")


@pytest.mark.parametrize(
    ("obj", "status", "message"),
    [
        ({"metadata": {"name": "r", "generation": 1}}, "Progressing", "Waiting for the controller to report"),
        (_status(2, 2, VALID, ("True", "ReplicasReady", "2/2 gateway replicas ready")), "Healthy", "2/2"),
        (_status(3, 2, VALID, ("True", "ReplicasReady", "2/2")), "Progressing", "latest spec"),
        (
            _status(
                2, 2, ("False", "InvalidConfig", "default/r/spec.config:2:3: bad port"), ("True", "R", "")
            ),
            "Degraded",
            ":2:3: bad port",
        ),
        (
            _status(2, 2, VALID, ("False", "RollingOut", "gateway pods are being replaced")),
            "Progressing",
            "replaced",
        ),
        (
            _status(2, 2, VALID, ("False", "ReplicasNotReady", "0/2 gateway replicas ready")),
            "Progressing",
            "0/2",
        ),
        (
            _status(2, 2, VALID, ("False", "ApplyFailed", "Deployment r rejected: 422")),
            "Degraded",
            "rejected",
        ),
        (
            _status(2, 2, VALID, ("False", "NotOwned", "Service r already exists")),
            "Degraded",
            "already exists",
        ),
    ],
    ids=[
        "no-status",
        "healthy",
        "stale-generation",
        "invalid",
        "rolling",
        "not-ready",
        "apply-failed",
        "not-owned",
    ],
)
def test_argocd_health_check(obj: dict[str, Any], status: str, message: str) -> None:
    got_status, got_message = _health(obj)
    assert got_status == status
    assert message in got_message


def _validate_script(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["sh", str(KIT / "ci" / "validate-lino.sh"), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_ci_snippet_validates_every_lino_file(tmp_path: Path) -> None:
    good = _validate_script(KIT)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "base/router.lino: valid" in good.stdout and "production/router.lino: valid" in good.stdout
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "router.lino").write_text("server:\n  port 8080\n")
    (tmp_path / "broken.lino").write_text("server:\n  port abc\n")
    bad = _validate_script(tmp_path)
    assert bad.returncode == 1
    assert "broken.lino:2:3:" in bad.stdout + bad.stderr
    empty = _validate_script(tmp_path / "ok" / "nothing-here")
    assert empty.returncode != 0


def test_ci_workflow_runs_the_snippet() -> None:
    workflow = yaml.safe_load((KIT / "ci" / "github-actions.yaml").read_text())
    steps = workflow["jobs"]["validate"]["steps"]
    assert any("examples/gitops/ci/validate-lino.sh" in step.get("run", "") for step in steps)
