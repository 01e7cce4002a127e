"""`make run` (`python -m gateway.devrun`) from a fresh directory: a development secret is generated
once into ./.lenv, tokens live in ./.data, and the start-up text says how to use the gateway."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.support.serve_process import serve_process


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
    assert "curl -s -X POST" in printed and "tokens issue" in printed
    assert f"ANTHROPIC_BASE_URL={proc.url}" in printed
    assert secret_lines[0].split(": ", 1)[1] not in printed + proc.stderr

    # A second `make run` keeps the same secret, so keys issued before still verify.
    async with (
        serve_process(env, tmp_path, command=("gateway.devrun",)) as proc,
        aiohttp.ClientSession() as http,
        http.post(
            proc.url + "/v1/messages/count_tokens", headers={"x-api-key": key}, json={"model": "m"}
        ) as response,
    ):
        body = await response.json()
    assert (tmp_path / ".lenv").read_text() == lenv
    # The key is accepted (no credential is configured, so the gateway answers 502, not 401).
    assert response.status == 502, body
