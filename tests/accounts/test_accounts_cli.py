"""`link-assistant-router accounts list` as a real process: the seed's table plus our columns."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from gateway.cli.main import main
from tests.accounts.trio import trio
from tests.support.fake_anthropic import Step
from tests.support.gateway import TEST_SECRET, write_credentials


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli.main", *args, env={**base, **env}, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def rows(table: str) -> dict[str, list[str]]:
    lines = table.strip().splitlines()
    return {line.split()[0]: line.split() for line in lines[1:]}


def seed_layout(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    primary, extra = tmp_path / "primary", tmp_path / "extra"
    write_credentials(primary, "sk-ant-oat01-SECRET-primary", "sk-ant-ort01-x", 4_102_444_800_000)
    write_credentials(extra, "sk-ant-oat01-SECRET-extra")
    env = {"TOKEN_SECRET": TEST_SECRET, "CLAUDE_CODE_HOME": str(primary), "DATA_DIR": str(tmp_path / "d"),
           "ADDITIONAL_ACCOUNT_DIRS": f"{extra},{tmp_path / 'missing'}", "HOME": str(tmp_path)}
    return primary, extra, env


async def test_list_from_the_seed_environment(tmp_path: Path) -> None:
    primary, extra, env = seed_layout(tmp_path)
    code, out, err = await run_cli("accounts", "list", env=env, cwd=tmp_path)
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert header[:4] == ["name", "healthy", "used", "home"]
    assert header[4:] == ["state", "reason", "reset", "in_flight", "refresh"]
    table = rows(out)
    assert list(table) == ["primary", "account-1", "account-2"]
    assert table["primary"][1:5] == ["true", "0", str(primary), "healthy"]
    assert table["account-1"][1:5] == ["true", "0", str(extra), "healthy"]
    assert table["account-2"][1:6] == ["false", "0", str(tmp_path / "missing"), "unhealthy", "credential"]
    assert "SECRET" not in out + err



def test_json_listing_from_the_seed_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _, _, env = seed_layout(tmp_path)
    code, out, _ = run_in_process(["accounts", "list", "--json"], env, tmp_path, monkeypatch, capsys)
    assert code == 0
    body = json.loads(out)
    assert [a["name"] for a in body["accounts"]] == ["primary", "account-1", "account-2"]
    assert [a["state"] for a in body["accounts"]] == ["healthy", "healthy", "unhealthy"]
    assert "note" not in body and "SECRET" not in out


def run_in_process(args: list[str], env: dict[str, str], cwd: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The same entry point without a new interpreter (faster; the process test above covers that)."""
    for name in ("TOKEN_SECRET", "CLAUDE_CODE_HOME", "ADDITIONAL_ACCOUNT_DIRS", "DATA_DIR", "TOKEN_ADMIN_KEY",
                 "ROUTER_CONFIG", "CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_single_account_mode_and_missing_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    env = {"TOKEN_SECRET": TEST_SECRET, "CLAUDE_CODE_HOME": str(tmp_path / "none"),
           "DATA_DIR": str(tmp_path / "d"), "HOME": str(tmp_path)}
    code, out, _ = run_in_process(["accounts", "list", "--json"], env, tmp_path, monkeypatch, capsys)
    assert code == 0
    body = json.loads(out)
    assert body["note"] == "single-account mode (no AccountRouter configured)"
    assert [a["name"] for a in body["accounts"]] == ["primary"]
    monkeypatch.delenv("TOKEN_SECRET")
    code, _, err = run_in_process(["accounts", "list"], {"HOME": str(tmp_path)}, tmp_path, monkeypatch,
                                  capsys)
    assert code == 2 and "TOKEN_SECRET" in err


async def test_list_shows_the_live_state_of_a_running_gateway(tmp_path: Path) -> None:
    async with trio(tmp_path) as t:
        t.fakes["a"].then(Step.rate_limited(retry_after=120))
        await t.ask()
        env = {"TOKEN_SECRET": TEST_SECRET, "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "cli")}
        code, out, err = await run_cli("accounts", "list", "--url", t.gw.url, env=env, cwd=tmp_path)
    assert code == 0, err
    table = rows(out)
    assert table["a"][1:3] == ["false", "1"]
    assert table["a"][4:6] == ["cooling_down", "rate_limit"]
    assert table["b"][1:3] == ["true", "1"]
    assert table["b"][4] == "healthy"
    assert table["c"][2] == "0"
