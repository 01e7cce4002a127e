"""buf over proto/: the module lints clean, and `buf breaking` (what CI runs against main) really
catches a wire-breaking change such as a renumbered field."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def buf() -> str:
    done = subprocess.run([str(ROOT / ".ci" / "buf"), "path"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"buf is not installable here: {done.stderr}")
    return done.stdout.strip()


def run(buf: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([buf, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_proto_module_lints_clean(buf: str) -> None:
    done = run(buf, "lint", cwd=ROOT / "proto")
    assert done.returncode == 0, done.stdout + done.stderr


def test_breaking_catches_a_renumbered_field(buf: str, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "proto", tmp_path / "before")
    shutil.copytree(ROOT / "proto", tmp_path / "after")
    assert run(buf, "breaking", "--against", str(tmp_path / "before"), cwd=tmp_path / "after").returncode == 0
    tokens = tmp_path / "after" / "linkassistant/router/admin/v1/tokens.proto"
    tokens.write_text(tokens.read_text().replace("string label = 3;", "string label = 30;", 1))
    done = run(buf, "breaking", "--against", str(tmp_path / "before"), cwd=tmp_path / "after")
    assert done.returncode != 0 and "label" in done.stdout, done.stdout + done.stderr
