"""`link-assistant-router accounts list` as a real process: the seed's table plus our columns."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from gateway.cli.accounts_cmd import LiveError, fetch_live
from gateway.cli.main import main
from tests.accounts.trio import trio
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import TEST_SECRET, gateway_config, running_gateway, write_credentials
from tests.support.ports import free_port


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli.main",
        *args,
        env={**base, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
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
    env = {
        "TOKEN_SECRET": TEST_SECRET,
        "CLAUDE_CODE_HOME": str(primary),
        "DATA_DIR": str(tmp_path / "d"),
        "ADDITIONAL_ACCOUNT_DIRS": f"{extra},{tmp_path / 'missing'}",
        "HOME": str(tmp_path),
    }
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


def test_json_listing_from_the_seed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, env = seed_layout(tmp_path)
    code, out, _ = run_in_process(["accounts", "list", "--json"], env, tmp_path, monkeypatch, capsys)
    assert code == 0
    body = json.loads(out)
    assert [a["name"] for a in body["accounts"]] == ["primary", "account-1", "account-2"]
    assert [a["state"] for a in body["accounts"]] == ["healthy", "healthy", "unhealthy"]
    assert "note" not in body and "SECRET" not in out


def run_in_process(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """The same entry point without a new interpreter (faster; the process test above covers that)."""
    for name in (
        "TOKEN_SECRET",
        "CLAUDE_CODE_HOME",
        "ADDITIONAL_ACCOUNT_DIRS",
        "DATA_DIR",
        "TOKEN_ADMIN_KEY",
        "ROUTER_CONFIG",
        "CONFIG_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_single_account_mode_and_missing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "TOKEN_SECRET": TEST_SECRET,
        "CLAUDE_CODE_HOME": str(tmp_path / "none"),
        "DATA_DIR": str(tmp_path / "d"),
        "HOME": str(tmp_path),
    }
    code, out, _ = run_in_process(["accounts", "list", "--json"], env, tmp_path, monkeypatch, capsys)
    assert code == 0
    body = json.loads(out)
    assert body["note"] == "single-account mode (no AccountRouter configured)"
    assert [a["name"] for a in body["accounts"]] == ["primary"]
    monkeypatch.delenv("TOKEN_SECRET")
    code, _, err = run_in_process(
        ["accounts", "list"], {"HOME": str(tmp_path)}, tmp_path, monkeypatch, capsys
    )
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


async def test_live_listing_says_what_is_wrong_without_a_traceback(tmp_path: Path) -> None:
    async with (
        FakeAnthropic() as fake,
        running_gateway(gateway_config(fake.url, tmp_path / "d"), {"TOKEN_ADMIN_KEY": "admin-key-123"}) as gw,
    ):
        env = {"TOKEN_SECRET": TEST_SECRET, "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "cli")}
        code, out, err = await run_cli("accounts", "list", "--url", gw.url, env=env, cwd=tmp_path)
        assert (code, out) == (1, "")
        assert (
            err.strip() == f"error: {gw.url}/v1/accounts refused the request (401): "
            "set TOKEN_ADMIN_KEY to its admin key"
        )
        wrong = {**env, "TOKEN_ADMIN_KEY": "nope"}
        code, out, err = await run_cli("accounts", "list", "--url", gw.url, env=wrong, cwd=tmp_path)
        assert code == 1 and "TOKEN_ADMIN_KEY is not its key" in err and "nope" not in err
        body = await fetch_live(gw.url + "/", "admin-key-123")
        assert body["note"] == "single-account mode (no AccountRouter configured)"
        with pytest.raises(LiveError) as caught:
            await fetch_live(fake.url, None)  # an Anthropic-like server, not a router
        assert str(caught.value).endswith("did not answer with the account list (HTTP 404); is it a router?")
    with pytest.raises(LiveError) as caught:
        await fetch_live(f"http://127.0.0.1:{free_port()}", None)
    assert str(caught.value).startswith("cannot reach the gateway at http://127.0.0.1:")
    with pytest.raises(LiveError) as caught:
        await fetch_live(f"http://admin:s3cret@127.0.0.1:{free_port()}", None)
    assert "s3cret" not in str(caught.value)
    for bad in ("router:8080", "notaurl"):
        with pytest.raises(LiveError) as caught:
            await fetch_live(bad, None)
        assert str(caught.value).startswith("--url takes the gateway's base URL like http://router:8080")


def test_help_explains_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["accounts", "list", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for column in ("name", "healthy", "used", "home", "state", "reason", "reset", "in_flight", "refresh"):
        assert f"\n  {column} " in text
    assert "quota_exhausted" in text and "TOKEN_ADMIN_KEY" in text and "--url URL" in text
