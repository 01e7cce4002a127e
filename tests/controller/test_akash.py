"""Akash: akash/deploy.yaml is the rendering of akash/router.lino, the official akashjs SDL parser accepts it
(and what `config render --target akash` produces for other configs), and its boot command really starts a
gateway from the embedded config."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.akash import BOOT, CONFIG_FILE
from controller.render_cli import render_command
from tests.controller import tools
from tests.controller.realapi import free_port

ROOT = Path(__file__).resolve().parents[2]
AKASH = ROOT / "akash"
VALIDATOR = Path(__file__).parent / "akash_validate.js"


@pytest.fixture(scope="module")
def akashjs() -> Path:
    try:
        return tools.akash_validator_dir() / "node_modules"
    except tools.ToolUnavailable as exc:
        pytest.fail(f"akashjs validator unavailable: {exc}")


def validate(node_path: Path, file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(VALIDATOR), str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NODE_PATH": str(node_path)},
    )


def test_deploy_yaml_is_the_rendering_of_router_lino() -> None:
    code, text = render_command(str(AKASH / "router.lino"), "akash")
    assert code == 0
    assert (AKASH / "deploy.yaml").read_text() == text, "stale: run `make charts`"


def test_akashjs_accepts_the_sdl_and_sees_one_exposed_gateway(akashjs: Path) -> None:
    result = validate(akashjs, AKASH / "deploy.yaml")
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)["manifest"]
    service = manifest[0]["services"][0]
    assert (service["name"], service["count"]) == ("router", 1)
    assert [(e["port"], e["externalPort"], e["global"]) for e in service["expose"]] == [(8080, 80, True)]
    env = dict(item.split("=", 1) for item in service["env"])
    assert base64.b64decode(env["ROUTER_CONFIG_B64"]).decode() == (AKASH / "router.lino").read_text()
    assert env["TOKEN_SECRET"].startswith("replace-with-")  # no real secret ever lands in an SDL


@pytest.mark.parametrize("source", sorted((ROOT / "examples").glob("*.lino")), ids=lambda p: p.name)
def test_render_target_akash_is_valid_for_every_example(akashjs: Path, source: Path, tmp_path: Path) -> None:
    code, text = render_command(str(source), "akash")
    if code != 0:  # e.g. a local-only config (loopback host): refused with the reason, never half-rendered
        assert code == 1 and text.startswith(f"{source}:"), text
        return
    sdl = tmp_path / "deploy.yaml"
    sdl.write_text(text)
    result = validate(akashjs, sdl)
    assert result.returncode == 0, result.stderr


def test_akashjs_rejects_a_broken_sdl(akashjs: Path, tmp_path: Path) -> None:
    broken: dict[str, Any] = yaml.safe_load((AKASH / "deploy.yaml").read_text())
    broken["profiles"]["compute"]["router"]["resources"]["memory"]["size"] = "lots"
    sdl = tmp_path / "broken.yaml"
    sdl.write_text(yaml.safe_dump(broken))
    result = validate(akashjs, sdl)
    assert result.returncode == 1 and "lots" in result.stderr


def test_the_boot_command_starts_a_gateway_from_the_embedded_config(tmp_path: Path) -> None:
    sdl = yaml.safe_load((AKASH / "deploy.yaml").read_text().split("---\n", 1)[1])
    service = sdl["services"]["router"]
    env = dict(item.split("=", 1) for item in service["env"])
    port, grpc_port = free_port(), free_port()
    boot = service["args"][0].replace(CONFIG_FILE, str(tmp_path / "router.lino"))  # not the shared /tmp
    assert service["args"][0] == BOOT and service["command"] == ["sh", "-c"]
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "DATA_DIR": str(tmp_path / "data"),
            "CLAUDE_CODE_HOME": str(tmp_path / "claude"),
            "TOKEN_SECRET": "akash-boot-test-secret-0123456789",
            "TOKEN_ADMIN_KEY": "akash-boot-admin-key",
            "ANTHROPIC_API_KEY": "sk-ant-test-not-real",
            # The environment outranks the config file, so the test can move the listeners off fixed ports.
            "ROUTER_HOST": "127.0.0.1",
            "ROUTER_PORT": str(port),
            "ADMIN_GRPC_PORT": str(grpc_port),
        }
    )
    proc = subprocess.Popen(
        ["sh", "-c", boot],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        body = b""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                    body = resp.read()
                    break
            except OSError:
                time.sleep(0.1)
        assert body.strip() == b"ok", proc.stdout.read() if proc.poll() is not None and proc.stdout else b""
        assert (tmp_path / "router.lino").read_text() == (AKASH / "router.lino").read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
