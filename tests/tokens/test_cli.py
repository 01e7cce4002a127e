"""`link-assistant-router tokens …` as real processes, alone and next to a running gateway."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import time
from pathlib import Path

import anthropic
import pytest

from gateway.tokens import formats, jwt_codec
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway

from .helpers import SECRET, cli_env, run_cli

FIXTURES = Path(__file__).parent / "fixtures"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_issue_list_show_expire_revoke(tmp_path: Path) -> None:
    data = tmp_path / "data"
    issued = run_cli(
        data,
        "tokens",
        "issue",
        "--ttl-hours",
        "48",
        "--label",
        "ops — 東京",
        "--account",
        "primary",
        "--max-requests",
        "3",
    )
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert issued.stdout == token + "\n"  # the token only
    claims = jwt_codec.decode(token, SECRET, now=time.time())
    assert UUID.match(claims.sub) and claims.exp - claims.iat == 48 * 3600 and claims.label == "ops — 東京"

    listed = run_cli(data, "tokens", "list")
    header, row = listed.stdout.splitlines()
    assert header == (
        "id                                    issued_at   expires_at  revoked   requests       label"
    )
    assert row == (f"{claims.sub}  {claims.iat:<10}  {claims.exp:<10}  false     0/3            ops — 東京")

    shown = run_cli(data, "tokens", "show", claims.sub)
    assert json.loads(shown.stdout) == {
        "id": claims.sub,
        "label": "ops — 東京",
        "issued_at": claims.iat,
        "expires_at": claims.exp,
        "revoked": False,
        "account": "primary",
        "max_requests": 3,
        "used_requests": 0,
    }
    assert list(json.loads(shown.stdout)) == [
        "id",
        "label",
        "issued_at",
        "expires_at",
        "revoked",
        "account",
        "max_requests",
        "used_requests",
    ]  # the seed's field order

    assert run_cli(data, "tokens", "expire", claims.sub).stdout == f"expired {claims.sub}\n"
    assert run_cli(data, "tokens", "revoke", claims.sub).stdout == f"revoked {claims.sub}\n"
    [record] = formats.decode_text((data / "tokens.lino").read_text(encoding="utf-8"))  # compacted on exit
    assert record.revoked and record.expires_at <= int(time.time()) and record.label == "ops — 東京"


def test_unknown_ids_say_not_found_and_exit_2(tmp_path: Path) -> None:
    for operation in ("show", "revoke"):
        result = run_cli(tmp_path / "data", "tokens", operation, "no-such-id")
        assert (result.returncode, result.stdout, result.stderr) == (2, "", "not found: no-such-id\n")


def test_a_pasted_key_instead_of_an_id_is_explained_not_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli.main import main  # in-process: the message is what matters, not the process

    monkeypatch.setenv("TOKEN_SECRET", SECRET)
    key = "la_sk_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    for operation in ("show", "revoke", "expire"):
        assert main(["tokens", operation, key, "--data-dir", str(tmp_path / "data")]) == 2
        err = capsys.readouterr().err
        assert "the UUID `tokens list` shows" in err and "eyJ0eX" not in err


def test_token_secret_is_required(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data")
    del env["TOKEN_SECRET"]
    result = run_cli(tmp_path / "data", "tokens", "list", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: TOKEN_SECRET is required") and "Traceback" not in result.stderr


def test_lists_a_data_dir_written_by_the_seed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "seed_tokens.lino", data / "tokens.lino")
    shutil.copy(FIXTURES / "seed_tokens.bin", data / "tokens.bin")
    rows = run_cli(data, "tokens", "list").stdout.splitlines()[1:]
    assert len(rows) == 5
    assert any(row.endswith("2/2            Zoë — 東京 🚀") for row in rows)
    escaped = 'ci "nightly" \\\\ job\\nline two\\ttab'
    assert any(row.endswith(f" true      7/-            {escaped}") for row in rows)


@pytest.mark.parametrize("command", [("tokens", "list"), ("serve", "--host", "127.0.0.1", "--port", "0")])
def test_a_corrupt_store_is_an_error_not_a_traceback(tmp_path: Path, command: tuple[str, ...]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "tokens.bin").write_bytes(b"GARBAGE!and more")
    result = run_cli(data, *command)
    assert result.returncode == 1
    assert "error: token store in" in result.stderr and "invalid magic" in result.stderr
    assert "Traceback" not in result.stderr


async def test_cli_revoke_reaches_a_running_gateway_within_one_second(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    async with running_gateway(gateway_config(fake.url, data, claude_home), {"TOKEN_SECRET": SECRET}) as gw:
        issued = await gw.tokens.issue(label="live")
        async with anthropic.AsyncAnthropic(base_url=gw.url, api_key=issued.token, max_retries=0) as client:
            await client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "a"}])
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway.cli.main",
                "tokens",
                "revoke",
                issued.record.id,
                env=cli_env(data),
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(cli.communicate(), timeout=60)
            revoked_at = time.monotonic()
            assert cli.returncode == 0, err
            assert out.decode() == f"revoked {issued.record.id}\n"
            while True:
                try:
                    await client.messages.create(
                        model="m", max_tokens=8, messages=[{"role": "user", "content": "b"}]
                    )
                except anthropic.PermissionDeniedError:
                    break
                assert time.monotonic() - revoked_at < 1.0, "the server still accepts the revoked key"
                await asyncio.sleep(0.02)
        assert time.monotonic() - revoked_at < 1.0
