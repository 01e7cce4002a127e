"""The real Claude Code CLI (`claude -p`) through the gateway, offline, against the fake upstream.

Needs the `claude` binary (`.ci/run` installs `@anthropic-ai/claude-code` when it is missing).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.gateway.conftest import OAUTH_ACCESS
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import RunningGateway, gateway_config, running_gateway

CLAUDE = shutil.which("claude")
pytestmark = pytest.mark.skipif(CLAUDE is None, reason="Claude Code CLI not installed (.ci/run installs it)")
MODEL = "claude-haiku-4-5"
IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."


async def run_claude(
    gw: RunningGateway, tmp_path: Path, key: str, as_auth_token: bool = False
) -> tuple[int, str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "ANTHROPIC_BASE_URL": gw.url,
        ("ANTHROPIC_AUTH_TOKEN" if as_auth_token else "ANTHROPIC_API_KEY"): key,
    }
    assert CLAUDE is not None
    process = await asyncio.create_subprocess_exec(
        CLAUDE,
        "-p",
        "--model",
        MODEL,
        "Say hello",
        cwd=home,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("as_auth_token", [False, True])
async def test_claude_code_answers_through_the_gateway(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, as_auth_token: bool
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key(label="claude-code")
        code, out, err = await run_claude(gw, tmp_path, key, as_auth_token)
    assert code == 0, err
    assert fake.text in out
    messages = fake.messages_requests()
    assert messages, "Claude Code sent no Messages request"
    for seen in messages:
        assert seen.query == "beta=true"
        assert seen.headers["authorization"] == f"Bearer {OAUTH_ACCESS}"
        assert "x-api-key" not in seen.headers
        assert key not in json.dumps(seen.headers) and key.encode() not in seen.body
        assert "oauth-2025-04-20" in seen.headers["anthropic-beta"].split(",")
        assert "claude-code-20250219" in seen.headers["anthropic-beta"]
        system = seen.json()["system"]
        assert sum(1 for block in system if block.get("text", "").startswith(IDENTITY)) == 1


async def test_claude_code_rides_out_overload_and_a_cut_stream(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.overloaded(), Step.cut_stream(after_events=3))
    async with running_gateway(
        gateway_config(fake.url, tmp_path / "data", claude_home, retry_before_first_byte=0)
    ) as gw:
        code, out, err = await run_claude(gw, tmp_path, await gw.issue_key())
    assert code == 0, err
    assert fake.text in out
    assert len(fake.messages_requests()) >= 3  # 529, cut stream, then the answer


async def test_claude_code_with_a_revoked_key_fails_cleanly(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key()
        tokens = gw.tokens
        await tokens.revoke(tokens.list()[0].id)  # type: ignore[attr-defined]
        code, out, err = await run_claude(gw, tmp_path, key)
    assert code != 0
    assert fake.messages_requests() == []
    assert "revoked" in (out + err).lower()


async def test_claude_code_waits_out_a_rate_limit(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.rate_limited(retry_after=1))
    async with running_gateway(
        gateway_config(fake.url, tmp_path / "data", claude_home, retry_before_first_byte=0)
    ) as gw:
        code, out, err = await run_claude(gw, tmp_path, await gw.issue_key())
    assert code == 0, err
    assert fake.text in out
    assert len(fake.messages_requests()) == 2  # the 429 reached Claude Code, which retried later
