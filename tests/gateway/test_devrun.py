"""`make run` (`python -m gateway.devrun`) from a fresh directory: a development secret is generated
once into ./.lenv, tokens live in ./.data, and the start-up text says how to use the gateway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.support.serve_process import serve_env, serve_process


async def test_make_run_from_a_fresh_clone(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    async with serve_process(env, tmp_path, command=("gateway.devrun",)) as proc:
        async with aiohttp.ClientSession() as http:
            async with http.get(proc.url + "/health") as response:
                assert await response.text() == "ok"
            async with http.post(proc.url + "/api/tokens", json={"label": "dev"}) as response:
                key = (await response.json())["token"]
        assert await proc.stop() == 0
    lenv = (tmp_path / ".lenv").read_text()
    secret_lines = [line for line in lenv.splitlines() if line.startswith("TOKEN_SECRET: ")]
    assert len(secret_lines) == 1 and len(secret_lines[0].split(": ", 1)[1]) == 64
    assert (tmp_path / ".lenv").stat().st_mode & 0o077 == 0
    assert (tmp_path / ".data" / "tokens.lino").is_file()
    printed = "\n".join(proc.stdout_lines)
    assert f"running at {proc.url}" in printed
    assert "curl -s -X POST" in printed
    assert f"tokens issue --data-dir {(tmp_path / '.data').resolve()}" in printed
    assert f"ANTHROPIC_BASE_URL={proc.url}" in printed
    assert secret_lines[0].split(": ", 1)[1] not in printed + proc.stderr

    # The printed CLI command issues into the same store with the same secret.
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli.main",
            "tokens",
            "issue",
            "--data-dir",
            str(tmp_path / ".data"),
            "--label",
            "cli",
        ],
        env=serve_env(env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    cli_key = cli.stdout.strip()

    # A second `make run` keeps the same secret, so keys issued before still verify.
    statuses = []
    async with (
        serve_process(env, tmp_path, command=("gateway.devrun",)) as proc,
        aiohttp.ClientSession() as http,
    ):
        for each in (key, cli_key):
            async with http.post(
                proc.url + "/v1/messages/count_tokens", headers={"x-api-key": each}, json={"model": "m"}
            ) as response:
                statuses.append((response.status, (await response.json())["error"]["message"]))
    assert (tmp_path / ".lenv").read_text() == lenv
    # Both keys are accepted: no upstream credential is configured, so the answer is 502, not 401.
    assert [status for status, _ in statuses] == [502, 502], statuses
