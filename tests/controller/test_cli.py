"""The controller as users start it (`link-assistant-router controller`, a real process) and
`config render` from the command line."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.controller.conftest import Cluster
from tests.controller.realapi import free_port
from tests.controller.test_loop import RC_PATH, live, router_config

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "gateway.cli.main"]


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
        return str(resp.read().decode())


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return int(resp.status)
    except OSError:
        return 0


async def test_controller_subcommand_reconciles_serves_healthz_and_stops_on_sigterm(cluster: Cluster) -> None:
    health = free_port()
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "controller",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--namespace",
        "default",
        "--resync-seconds",
        "1",
        "--health-port",
        str(health),
        "--gateway-image",
        "example.test/gw:2",
        "--leader-elect",
        "--lease-namespace",
        "default",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        body = router_config()
        del body["spec"]["image"]  # so the controller's --gateway-image applies
        async with cluster.emulator.post(RC_PATH, json=body) as resp:
            assert resp.status in (200, 201)
        deployment = await cluster.eventually(
            lambda: live(cluster, "deployments"), timeout=20, what="reconcile"
        )
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "example.test/gw:2"
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, _health, health) == 200
        metrics = ""
        for _ in range(100):  # bounded: the first reconcile finishes just after its Deployment lands
            metrics = await loop.run_in_executor(None, _metrics, health)
            ok = re.search(r'link_assistant_controller_reconciles_total\{result="ok"\} (\d+)', metrics)
            if ok and int(ok.group(1)) >= 1:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no successful reconcile counted:\n{metrics}")
        assert "# TYPE link_assistant_controller_reconcile_duration_seconds histogram" in metrics
        assert "link_assistant_controller_queue_depth " in metrics
        if shutil.which("promtool"):
            check = subprocess.run(
                ["promtool", "check", "metrics"],
                input=metrics,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert check.returncode == 0, check.stdout + check.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError("controller did not stop within 10 s of SIGTERM") from None
    output = (await proc.stdout.read()).decode() if proc.stdout else ""
    assert proc.returncode == 0, output
    assert "reconciled default/team" in output and "leading as " in output
    lease = cluster.emulator.live("leases", "default", "link-assistant-router-controller") or {}
    assert lease["spec"]["holderIdentity"] == ""  # released on SIGTERM: a standby takes over at once


async def test_controller_without_a_cluster_is_a_clear_error(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "controller",
        "--kubeconfig",
        str(tmp_path / "missing"),
        "--health-port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "KUBERNETES_SERVICE_HOST": ""},
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().startswith("error: cannot load Kubernetes credentials")
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--health-port", "70000"], {}, "argument --health-port: 70000 is not a port number (0-65535)"),
        ([], {"HEALTH_PORT": "http"}, "argument --health-port: 'http' is not a port number"),
        (["--resync-seconds", "inf"], {}, "--resync-seconds: inf is not between 1 and 86400 seconds"),
        ([], {"RESYNC_SECONDS": "soon"}, "argument --resync-seconds: 'soon' is not a number of seconds"),
    ],
)
async def test_controller_bad_numbers_are_usage_errors(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "controller",
        "--kubeconfig",
        str(tmp_path / "missing"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, **env},
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert message in err.decode() and "Traceback" not in err.decode()


async def test_config_render_targets_from_the_command_line(tmp_path: Path) -> None:
    source = ROOT / "akash" / "router.lino"
    outputs = {}
    for target in ("kubernetes", "helm-values", "akash"):
        proc = await asyncio.create_subprocess_exec(
            *CLI,
            "config",
            "render",
            str(source),
            "--target",
            target,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        outputs[target] = [d for d in yaml.safe_load_all(out.decode()) if d]
    assert [d["kind"] for d in outputs["kubernetes"]] == ["ConfigMap", "Deployment", "Service"]
    assert outputs["helm-values"][0]["config"] == source.read_text()
    assert outputs["akash"][0]["version"] == "2.0"
    assert outputs["akash"] == [
        yaml.safe_load((ROOT / "akash" / "deploy.yaml").read_text().split("---\n", 1)[1])
    ]

    bad = tmp_path / "bad.lino"
    bad.write_text("server:\n  port abc\n")
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "config",
        "render",
        str(bad),
        "--target",
        "kubernetes",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert f"{bad}:2:3:" in (out + err).decode()


async def test_python_dash_m_controller_is_the_same_program() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller", "--help", stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert "--resync-seconds" in out.decode() and "--gateway-image" in out.decode()
