"""End to end, emulator tier: a ConfigMap edit reaches the running gateway's config without a pod
restart. The controller (against kmock) copies the validated `configFrom` text into the gateway's
ConfigMap and leaves the pod template alone; the kubelet's part (projecting that ConfigMap into the
pod's volume with an atomic `..data` swap) is played by `ConfigMapDir`; the real gateway process, the
same one throughout, notices the swap and serves the new config."""

from __future__ import annotations

import copy
from pathlib import Path

import aiohttp

from controller.runner import Controller
from tests.controller.conftest import Cluster
from tests.controller.test_config_from import from_config_map, put_source, settled
from tests.controller.test_loop import create, live
from tests.gateway.test_hot_reload import ConfigMapDir, ask, config, env_for, issue, until
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.serve_process import serve_process


async def test_a_config_map_edit_reaches_the_gateway_without_a_restart(
    cluster: Cluster, running: Controller, tmp_path: Path
) -> None:
    async with FakeAnthropic(text="first upstream") as first, FakeAnthropic(text="second upstream") as second:
        await put_source(cluster, config(first.url))
        await create(cluster, from_config_map())
        await settled(cluster, running, config(first.url))
        template = copy.deepcopy((live(cluster, "deployments") or {})["spec"]["template"])

        def projected() -> str:
            return str((live(cluster, "configmaps", "team-config") or {})["data"]["router.lino"])

        volume = ConfigMapDir(tmp_path / "volume")
        volume.write(projected())  # what the kubelet mounts into the new pod
        async with (
            serve_process(env_for(tmp_path), tmp_path, args=("--config", str(volume.file))) as proc,
            aiohttp.ClientSession() as http,
        ):
            pid = proc.process.pid
            key = await issue(http, proc.url)
            assert (await ask(http, proc, key))["content"][0]["text"] == "first upstream"

            await put_source(cluster, config(second.url))  # the GitOps edit of the user's ConfigMap
            await settled(cluster, running, config(second.url))
            volume.write(projected())  # the kubelet syncs the changed ConfigMap into the volume
            await until(lambda: "config reloaded (file changed)" in proc.stderr, "the gateway's reload")
            assert (await ask(http, proc, key))["content"][0]["text"] == "second upstream"
            assert proc.process.pid == pid and proc.process.returncode is None  # never restarted
        assert (live(cluster, "deployments") or {})["spec"]["template"] == template  # no pod roll
