"""The real Claude Code CLI in Bedrock mode and in Vertex mode, through the gateway, offline.

The env recipes are the README's. The fake upstream first asks for a tool (`Read` of a file in the
working directory), Claude Code runs it and sends the result back, and the fake's answer is what
Claude Code prints: a streamed tool-use round trip on each surface.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aiohttp import web

from dsl.model import RouterConfig
from tests.support.claude_cli import CLAUDE, run_claude
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.two_accounts import ACCOUNT_ENV

pytestmark = pytest.mark.skipif(CLAUDE is None, reason="Claude Code CLI not installed (.ci/run installs it)")
NOTE = "the-note-says-42"
FAKE_GATEWAY = RunningGateway("http://127.0.0.1:1", web.Application())


def bedrock_env(gw: RunningGateway, key: str) -> dict[str, str]:
    return {
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_BEDROCK_BASE_URL": gw.url,
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
        "AWS_REGION": "us-east-1",
        "AWS_BEARER_TOKEN_BEDROCK": key,
    }


def vertex_env(gw: RunningGateway, key: str) -> dict[str, str]:
    return {
        "CLAUDE_CODE_USE_VERTEX": "1",
        "ANTHROPIC_VERTEX_BASE_URL": f"{gw.url}/v1",
        "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1",
        "CLOUD_ML_REGION": "us-east5",
        "ANTHROPIC_VERTEX_PROJECT_ID": "p",
        "ANTHROPIC_CUSTOM_HEADERS": f"x-api-key: {key}",
    }


@pytest.mark.parametrize("mode", ["bedrock", "vertex"])
async def test_claude_code_round_trips_a_tool_call(
    fake: FakeAnthropic, config: RouterConfig, tmp_path: Path, mode: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "note.txt").write_text(NOTE + "\n")
    fake.then(Step.tool_use("Read", {"file_path": str(home / "note.txt")}), Step.ok())
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        key = await gw.issue_key(label=f"claude-code-{mode}")
        env = bedrock_env(gw, key) if mode == "bedrock" else vertex_env(gw, key)
        prompt = "Read note.txt and tell me what it says"
        code, out, err = await run_claude(home, env, "--model", "claude-sonnet-4-5", prompt)
    assert code == 0, err
    assert fake.text in out
    asked, answered = fake.messages_requests()[:2]
    for seen in (asked, answered):
        body = seen.json()
        assert body["stream"] is True and body["model"] == "claude-sonnet-4-5"
        assert "anthropic_version" not in body
        assert "claude-code-20250219" in seen.headers["anthropic-beta"]
        assert seen.headers["x-api-key"].startswith("sk-ant-api03-ACCOUNT-")
        assert key not in json.dumps(seen.headers)
    result = answered.json()["messages"][-1]["content"]
    tool_results = [block for block in result if block.get("type") == "tool_result"]
    assert tool_results and tool_results[0]["tool_use_id"] == "toolu_fake01"
    assert NOTE in json.dumps(tool_results[0]["content"])


def test_the_readme_recipes_are_the_ones_tested() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    recipes = {
        mode: set(
            re.findall(
                r"\b([A-Z][A-Z0-9_]+)=", readme.split(f"Claude Code in {mode} mode:", 1)[1].split("```")[1]
            )
        )
        for mode in ("Bedrock", "Vertex")
    }
    assert recipes["Bedrock"] == set(bedrock_env(FAKE_GATEWAY, "k"))
    assert recipes["Vertex"] == set(vertex_env(FAKE_GATEWAY, "k"))
