"""`doctor`: the seed's `key : value` probe lines, exit 0, and never a secret."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.support.gateway import write_credentials
from tests.support.serve_process import serve_env

SECRET = "doctor-secret-NEVER-PRINTED-42"
ACCESS = "sk-ant-oat01-DOCTOR-ACCESS"
REFRESH = "sk-ant-ort01-DOCTOR-REFRESH"


def doctor(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "doctor"],
        env=serve_env(env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def lines(output: str) -> dict[str, str]:
    pairs = (line.split(" : ", 1) for line in output.splitlines() if " : " in line)
    return {key: value for key, value in pairs}


def test_doctor_reports_credentials_and_stores_without_secrets(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, ACCESS, REFRESH, expires_at_ms=int((time.time() + 7200) * 1000))
    extra = tmp_path / "empty-account"
    extra.mkdir()
    result = doctor(
        tmp_path,
        {
            "TOKEN_SECRET": SECRET,
            "TOKEN_ADMIN_KEY": "admin-key-NEVER-PRINTED",
            "DATA_DIR": str(tmp_path / "data"),
            "CLAUDE_CODE_HOME": str(home),
            "ADDITIONAL_ACCOUNT_DIRS": str(extra),
        },
    )
    assert result.returncode == 0, result.stderr
    report = lines(result.stdout)
    assert report["token_secret"] == "set" and report["admin_key"] == "set"
    assert report["claude_code_home"] == str(home)
    assert report["primary credentials"].startswith("found, token OK")
    assert "expires in" in report["primary credentials"]
    assert "rotated" not in report["primary credentials"]
    assert report["account account-1"].startswith("MISSING")
    assert report["additional_account_dirs"] == "1"
    assert report["data_dir"] == str(tmp_path / "data") and report["data_dir_present"] == "no"
    for secret in (SECRET, ACCESS, REFRESH, "admin-key-NEVER-PRINTED"):
        assert secret not in result.stdout + result.stderr


def test_doctor_without_anything_configured_still_answers(tmp_path: Path) -> None:
    result = doctor(tmp_path, {"HOME": str(tmp_path)})
    assert result.returncode == 0
    report = lines(result.stdout)
    assert report["token_secret"] == "unset"
    assert report["primary credentials"].startswith("MISSING")
    assert report["version"] and report["listen_addr"].endswith(":0")


def test_doctor_says_when_the_router_holds_a_rotated_pair(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, ACCESS, REFRESH, expires_at_ms=int((time.time() - 60) * 1000))
    state = tmp_path / "data" / "oauth" / "primary.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"access_token": "sk-ant-oat01-ROTATED-SECRET"}')
    result = doctor(
        tmp_path, {"TOKEN_SECRET": SECRET, "DATA_DIR": str(tmp_path / "data"), "CLAUDE_CODE_HOME": str(home)}
    )
    report = lines(result.stdout)
    assert "expired, will refresh" in report["primary credentials"]
    assert "the router holds a rotated token pair" in report["primary credentials"]
    assert "ROTATED-SECRET" not in result.stdout
