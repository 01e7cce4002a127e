"""The container image recipe. No Docker engine runs here, so the test reads the Dockerfile and runs what
it would run: ENTRYPOINT + CMD start a real gateway, the HEALTHCHECK command reports it healthy, and the
same entrypoint runs the controller."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
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


def _serves_until_healthcheck_passes(command: list[str], env: dict[str, str], cwd: Path) -> None:
    """Start `command`, wait (bounded) until the image's HEALTHCHECK passes, stop it with SIGTERM."""
    check = exec_form("HEALTHCHECK")
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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


def test_entrypoint_and_cmd_serve_and_the_healthcheck_sees_it(tmp_path: Path) -> None:
    env = _env(tmp_path, free_port())
    _serves_until_healthcheck_passes([*exec_form("ENTRYPOINT"), *exec_form("CMD")], env, tmp_path)


def _build_stage_context(into: Path) -> Path:
    """The files the build stage COPYs, laid out as in its WORKDIR (bytecode caches left out)."""
    build = instructions()[: max(i for i, (word, _) in enumerate(instructions()) if word == "FROM")]
    for word, rest in build:
        if word != "COPY" or rest.startswith("--from"):
            continue
        *sources, dest = rest.split()
        for source in sources:
            target = into / dest if (ROOT / source).is_dir() else into / dest / source
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copyfile(ROOT / source, target)
    return into


def test_the_package_built_from_the_copied_sources_serves(tmp_path: Path) -> None:
    """What `pip install .` in the build stage produces (not the editable checkout) starts a gateway:
    catches a module or data file the image would lack."""
    context = _build_stage_context(tmp_path / "src")
    site = tmp_path / "site"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-compile",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    shutil.rmtree(context)  # nothing can be imported from the sources any more
    # -S: no site hooks, so the checkout's editable-install finder cannot shadow the built package; the
    # third-party dependencies still come from this venv.
    env = _env(tmp_path, free_port())
    env["PYTHONPATH"] = os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])
    python = [sys.executable, "-S", "-c", "import sys; from gateway.cli.main import main; sys.exit(main())"]
    where = subprocess.run(
        [sys.executable, "-S", "-c", "import controller, dsl, gateway; print(gateway.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    _serves_until_healthcheck_passes([*python, *exec_form("CMD")], env, tmp_path)
