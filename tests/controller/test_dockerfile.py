"""The container image recipe. No Docker engine runs here, so the test reads the Dockerfile and runs what
it would run: ENTRYPOINT + CMD start a real gateway, the HEALTHCHECK command reports it healthy, and the
same entrypoint runs the controller."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.controller.realapi import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def exec_form(word: str) -> list[str]:
    args = [rest for w, rest in final_stage() if w == word][-1]
    if word == "HEALTHCHECK":
        args = args.split(" CMD ", 1)[1]
    parsed = json.loads(args)  # exec form only: no shell between the signal and the process
    assert isinstance(parsed, list)
    return [str(a) for a in parsed]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in final_stage():
        if word == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def test_recipe_is_multi_stage_non_root_and_seed_compatible() -> None:
    steps = instructions()
    assert sum(1 for w, _ in steps if w == "FROM") >= 2
    assert any(w == "COPY" and rest.startswith("--from=build") for w, rest in final_stage())
    user = [rest for w, rest in final_stage() if w == "USER"][-1]
    assert user.split(":")[0] not in ("0", "root")
    env = image_env()
    assert env["CLAUDE_CODE_HOME"] == "/data/claude"  # where the seed's image expects credentials
    assert "ROUTER_PORT" not in env  # it would outrank the config file's port
    assert any(w == "HEALTHCHECK" for w, _ in final_stage())
    for word, rest in steps:  # everything it copies exists
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_dockerignore_keeps_state_and_secrets_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".lenv", ".env", ".data"} <= ignored


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "TOKEN_"))}
    env.update(image_env())
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "CLAUDE_CODE_HOME": str(tmp_path / "claude"),
            "DATA_DIR": str(tmp_path / "data"),
            "TOKEN_SECRET": "dockerfile-test-secret-0123456789abcdef",
            "ROUTER_HOST": "127.0.0.1",
            "ROUTER_PORT": str(port),
            "ADMIN_GRPC_PORT": str(free_port()),
        }
    )
    return env


def test_entrypoint_help_lists_the_gateway_and_the_controller(tmp_path: Path) -> None:
    entry = exec_form("ENTRYPOINT")
    result = subprocess.run(
        [*entry, "--help"],
        env=_env(tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "controller" in result.stdout
    result = subprocess.run(
        [*entry, "controller", "--help"],
        env=_env(tmp_path, free_port()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "--namespace" in result.stdout


def test_entrypoint_and_cmd_serve_and_the_healthcheck_sees_it(tmp_path: Path) -> None:
    port = free_port()
    env = _env(tmp_path, port)
    check = exec_form("HEALTHCHECK")
    proc = subprocess.Popen(
        [*exec_form("ENTRYPOINT"), *exec_form("CMD")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        healthy = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if subprocess.run(check, env=env, capture_output=True, timeout=10, check=False).returncode == 0:
                healthy = True
                break
            time.sleep(0.2)
        output = b"" if proc.poll() is None else (proc.stdout.read() if proc.stdout else b"")
        assert healthy, output.decode(errors="replace")[-2000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            pytest.fail("the gateway did not stop on SIGTERM within 15 s")
    assert subprocess.run(check, env=env, capture_output=True, timeout=10, check=False).returncode != 0
