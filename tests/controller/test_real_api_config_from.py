"""`spec.configFrom` and the write-only-what-differs controller against the real CRD API server (custom
resources real, core types in kmock behind the shim): the schema enforces exactly one config source, a
ConfigMap edit reaches the gateway's ConfigMap without touching the pod template, an invalid edit keeps
the old config and the real status says why, a settled object costs zero writes on resync (the real
RouterConfig's resourceVersion does not move), drift is repaired, an unowned object is left alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from controller.configcheck import config_hash
from controller.kube import KubeApiError, KubeClient, object_path
from controller.main import api_client
from controller.runner import Controller
from tests.controller.realapi import RealApiServer
from tests.controller.test_gitops import KIT, kustomize
from tests.controller.test_real_api import CRD, NS, _wait, create, kubectl, rc
from tests.gateway.test_hot_reload import ConfigMapDir, ask, env_for, issue, until
from tests.gateway.test_hot_reload import config as gateway_config
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.serve_process import serve_process

pytestmark = pytest.mark.timeout(1500)
GOOD = "server:\n  port 8080\nfeatures:\n  metrics on\n"
GOOD_V2 = GOOD + "  openai-api off\n"  # a config-only change: same pod spec
BAD = "server:\n  port abc\n"
SOURCE = {"configMapKeyRef": {"name": "gw-lino", "key": "router.lino"}}


@pytest.fixture(scope="module")
def api(real_api: RealApiServer) -> Iterator[KubeClient]:
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


@pytest.fixture(scope="module")
def controller(real_api: RealApiServer, api: KubeClient) -> Iterator[Controller]:
    client = KubeClient(api_client(str(real_api.shim_kubeconfig)), timeout=10)
    running = Controller(kube=client, namespace=NS, resync_seconds=1)
    thread = threading.Thread(target=running.run, daemon=True, name="controller-real-api-config-from")
    thread.start()
    yield running
    running.shutdown()
    thread.join(5)


@pytest.mark.parametrize(
    "spec",
    [{"replicas": 1}, {"config": "server:\n  port 8080\n", "configFrom": SOURCE}],
    ids=["neither", "both"],
)
def test_exactly_one_config_source_is_enforced_by_the_schema(api: KubeClient, spec: dict[str, Any]) -> None:
    with pytest.raises(KubeApiError) as caught:
        create(api, rc("one-source", spec))
    assert caught.value.status == 422
    assert "exactly one of spec.config and spec.configFrom" in caught.value.message


def test_config_from_needs_a_name_and_a_key(api: KubeClient) -> None:
    with pytest.raises(KubeApiError) as caught:
        create(api, rc("no-key", {"configFrom": {"configMapKeyRef": {"name": "gw-lino"}}}))
    assert caught.value.status == 422 and "spec.configFrom.configMapKeyRef.key" in caught.value.message


def test_the_short_name_is_lar_not_rc(api: KubeClient, real_api: RealApiServer) -> None:
    crd = api.get(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/routerconfigs.router.link-assistant.dev"
    )
    assert (crd or {})["spec"]["names"]["shortNames"] == ["lar"]  # rc is ReplicationController's
    assert kubectl(real_api, "get", "lar").returncode == 0


def _put_source(client: KubeClient, text: str, name: str = "gw-lino") -> None:
    path = object_path("v1", "ConfigMap", NS, name)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS}}
    if client.get(path) is None:
        client.request(
            "POST", object_path("v1", "ConfigMap", NS), body={**body, "data": {"router.lino": text}}
        )
    else:
        client.request(
            "PATCH", path, body={"data": {"router.lino": text}}, content_type="application/merge-patch+json"
        )


def _condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    return next(
        (c for c in ((obj or {}).get("status") or {}).get("conditions") or [] if c["type"] == kind), {}
    )


def _core_writes(real_api: RealApiServer) -> int:
    return sum(1 for r in real_api.core if r.method != "GET")


def test_config_map_edits_through_the_running_controller(
    real_api: RealApiServer, api: KubeClient, controller: Controller, tmp_path: Path
) -> None:
    client = controller.kube
    rc_path = object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS, "gw")
    child_path = object_path("v1", "ConfigMap", NS, "gw-config")
    deployment_path = object_path("apps/v1", "Deployment", NS, "gw")
    _put_source(client, GOOD)
    manifest = tmp_path / "gw.yaml"
    manifest.write_text(yaml.safe_dump(rc("gw", {"configFrom": SOURCE, "image": "example.test/router:1"})))
    applied = kubectl(real_api, "apply", "--validate=false", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr

    def served(text: str) -> bool:
        status = (api.get(rc_path) or {}).get("status") or {}
        child = ((client.get(child_path) or {}).get("data") or {}).get("router.lino")
        return status.get("configHash") == config_hash(text) and child == text

    _wait(lambda: served(GOOD), "the first config served")
    status = (api.get(rc_path) or {})["status"]
    assert status["configSource"] == "ConfigMap gw-lino key router.lino"  # kept by the real schema
    template = (client.get(deployment_path) or {})["spec"]["template"]

    # Settled: resyncs read the caches and write nothing, to the real server or to the core types.
    version = (api.get(rc_path) or {})["metadata"]["resourceVersion"]
    writes, seen = _core_writes(real_api), controller.reconciled
    _wait(lambda: controller.reconciled >= seen + 3, "three resyncs")
    assert (api.get(rc_path) or {})["metadata"]["resourceVersion"] == version
    assert _core_writes(real_api) == writes

    _put_source(client, GOOD_V2)
    _wait(lambda: served(GOOD_V2), "the edited config served")
    assert (client.get(deployment_path) or {})["spec"]["template"] == template  # no pod roll

    _put_source(client, BAD)
    _wait(lambda: _condition(api.get(rc_path), "ConfigValid").get("status") == "False", "ConfigValid=False")
    valid = _condition(api.get(rc_path), "ConfigValid")
    assert valid["reason"] == "InvalidConfig" and ":2:3:" in valid["message"]
    assert served(GOOD_V2)  # the old config keeps serving

    _put_source(client, GOOD_V2)
    _wait(lambda: _condition(api.get(rc_path), "ConfigValid").get("status") == "True", "valid again")
    client.request(
        "PATCH", deployment_path, body={"spec": {"replicas": 4}}, content_type="application/merge-patch+json"
    )
    _wait(
        lambda: (client.get(deployment_path) or {})["spec"]["replicas"] == 1, "the drift repaired", timeout=10
    )


def test_an_unowned_object_is_left_alone_on_the_real_server(
    real_api: RealApiServer, api: KubeClient, controller: Controller
) -> None:
    client = controller.kube
    theirs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "taken-config", "namespace": NS},
        "data": {"router.lino": "theirs\n"},
    }
    client.request("POST", object_path("v1", "ConfigMap", NS), body=theirs)
    create(api, rc("taken", {"config": GOOD}))
    rc_path = object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", NS, "taken")
    _wait(lambda: _condition(api.get(rc_path), "Ready").get("reason") == "NotOwned", "Ready=False NotOwned")
    assert "ConfigMap taken-config" in _condition(api.get(rc_path), "Ready")["message"]
    assert (client.get(object_path("v1", "ConfigMap", NS, "taken-config")) or {})["data"] == theirs["data"]
    assert client.get(object_path("apps/v1", "Deployment", NS, "taken")) is None  # nothing built on it
    assert any(e["reason"] == "NotOwned" for e in real_api.core.all("events"))


@pytest.mark.parametrize("folder", ["base", "overlays/production"])
def test_the_gitops_kit_is_accepted_by_the_real_server(api: KubeClient, folder: str) -> None:
    docs = kustomize(KIT / folder)
    router_config = next(d for d in docs if d["kind"] == "RouterConfig")
    namespace = router_config["metadata"].get("namespace", NS)
    path = object_path("router.link-assistant.dev/v1alpha1", "RouterConfig", namespace)
    accepted = api.request("POST", path, body=router_config, query=[("dryRun", "All")])
    assert accepted["spec"]["configFrom"] == router_config["spec"]["configFrom"]


async def test_a_config_map_edit_reaches_a_running_gateway_on_the_real_server(
    real_api: RealApiServer, api: KubeClient, controller: Controller, tmp_path: Path
) -> None:
    """The whole path with the real RouterConfig API: user ConfigMap -> controller -> gateway ConfigMap
    -> (kubelet-style `..data` swap) -> the same gateway process serving the new config."""
    client = controller.kube
    child_path = object_path("v1", "ConfigMap", NS, "chain-config")
    deployment_path = object_path("apps/v1", "Deployment", NS, "chain")
    source = {"configMapKeyRef": {"name": "chain-lino", "key": "router.lino"}}

    def projected() -> str | None:
        return ((client.get(child_path) or {}).get("data") or {}).get("router.lino")

    async with FakeAnthropic(text="first upstream") as first, FakeAnthropic(text="second upstream") as second:
        _put_source(client, gateway_config(first.url), name="chain-lino")
        create(api, rc("chain", {"configFrom": source, "image": "example.test/router:1"}))
        await until(
            lambda: projected() == gateway_config(first.url) and client.get(deployment_path),
            "the first config in the gateway ConfigMap, and the Deployment",
        )
        template = (client.get(deployment_path) or {})["spec"]["template"]
        volume = ConfigMapDir(tmp_path / "volume")
        volume.write(str(projected()))
        async with (
            serve_process(env_for(tmp_path), tmp_path, args=("--config", str(volume.file))) as proc,
            aiohttp.ClientSession() as http,
        ):
            key = await issue(http, proc.url)
            assert (await ask(http, proc, key))["content"][0]["text"] == "first upstream"
            _put_source(client, gateway_config(second.url), name="chain-lino")
            await until(
                lambda: projected() == gateway_config(second.url), "the edit in the gateway ConfigMap"
            )
            volume.write(str(projected()))
            await until(lambda: "config reloaded (file changed)" in proc.stderr, "the gateway's reload")
            assert (await ask(http, proc, key))["content"][0]["text"] == "second upstream"
            assert proc.process.returncode is None
        assert (client.get(deployment_path) or {})["spec"]["template"] == template  # no pod roll
