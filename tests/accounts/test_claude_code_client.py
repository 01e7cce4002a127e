"""Claude Code itself as the client of a pooled gateway: failover it never notices, and its
conversation (its session id) staying on one account across turns so its prompt cache stays warm."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import pytest

from dsl.model import RoutingStrategy
from tests.accounts.trio import Trio, trio
from tests.support.fake_anthropic import Step

CLAUDE = shutil.which("claude")
pytestmark = pytest.mark.skipif(CLAUDE is None, reason="Claude Code CLI not installed (.ci/run installs it)")


async def claude(t: Trio, home: Path, *args: str) -> str:
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "ANTHROPIC_BASE_URL": t.gw.url,
        "ANTHROPIC_API_KEY": t.key,
    }
    assert CLAUDE is not None
    process = await asyncio.create_subprocess_exec(
        CLAUDE,
        "-p",
        "--model",
        "claude-haiku-4-5",
        *args,
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
    assert process.returncode == 0, err.decode()[-2000:]
    return out.decode().strip()


async def test_claude_code_never_sees_an_account_rate_limit(tmp_path: Path) -> None:
    async with trio(tmp_path, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].then(Step.rate_limited(retry_after=60))
        assert await claude(t, tmp_path / "home", "Say hello") == "served by b"
        assert t.served() == {"a": 1, "b": 1, "c": 0}
        [seen] = t.fakes["b"].messages_requests()
        assert seen.query == "beta=true" and seen.headers["x-api-key"] == "sk-ant-api03-b"


async def test_a_claude_code_conversation_stays_on_one_account(tmp_path: Path) -> None:
    async with trio(tmp_path) as t:  # round-robin: without affinity every turn would move on
        session = str(uuid.uuid4())
        home = tmp_path / "home"
        first = await claude(t, home, "--session-id", session, "First turn")
        second = await claude(t, home, "--resume", session, "Second turn")
        third = await claude(t, home, "--resume", session, "Third turn")
        assert first == second == third
        name = first.removeprefix("served by ")
        sessions = {r.headers.get("x-claude-code-session-id") for r in t.fakes[name].messages_requests()}
        assert sessions == {session}
        assert t.served()[name] == 3
