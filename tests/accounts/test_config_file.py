"""The pool from a Links Notation config file, in the real `serve` process.

Accounts with per-account base URLs, priority and the routing section come from the file; the
anthropic SDK then sees failover and `/v1/accounts` shows the cooldown.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import anthropic

from tests.accounts.trio import HI, MODEL
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import TEST_SECRET
from tests.support.serve_process import serve_env, serve_process

CONFIG = """\
accounts:
  a:
    api-key-env KEY_A
    base-url "{a}"
    priority 3
  b:
    api-key-env KEY_B
    base-url "{b}"
    priority 2
    weight 5
    max-concurrent 4
  c:
    api-key-env KEY_C
    base-url "{c}"
    priority 1
    models claude-haiku-*
routing:
  strategy priority
  cooldown 45s
  retry-before-first-byte 2
storage:
  data-dir "{data}"
"""


async def issue_key(env: dict[str, str], cwd: Path, config: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli.main",
        "tokens",
        "issue",
        "--label",
        "t",
        "--config",
        str(config),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def test_accounts_from_the_config_file_fail_over_in_the_serve_process(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        fakes = {n: await stack.enter_async_context(FakeAnthropic(text=f"served by {n}")) for n in "abc"}
        config = tmp_path / "router.lino"
        config.write_text(
            CONFIG.format(a=fakes["a"].url, b=fakes["b"].url, c=fakes["c"].url, data=tmp_path / "data")
        )
        env = serve_env(
            {
                "TOKEN_SECRET": TEST_SECRET,
                "KEY_A": "sk-ant-api03-a",
                "KEY_B": "sk-ant-api03-b",
                "KEY_C": "sk-ant-api03-c",
            }
        )
        key = await issue_key(env, tmp_path, config)
        proc = await stack.enter_async_context(serve_process(env, tmp_path, ("--config", str(config))))
        client = anthropic.AsyncAnthropic(base_url=proc.url, api_key=key, max_retries=0)
        stack.push_async_callback(client.close)

        fakes["a"].then(Step.rate_limited(retry_after=30))
        message = await client.messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert message.content[0].text == "served by b"  # type: ignore[union-attr]
        haiku = await client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=HI)
        # b outranks c, which is the only account limited to haiku models
        assert haiku.content[0].text == "served by b"  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as http, http.get(proc.url + "/v1/accounts") as response:
            accounts = {e["name"]: e for e in (await response.json())["accounts"]}
        assert accounts["a"]["cooldown_reason"] == "rate_limit"
        assert 25 <= accounts["a"]["cooldown_remaining_seconds"] <= 30
        assert accounts["b"]["max_concurrent"] == 4 and accounts["c"]["models"] == ["claude-haiku-*"]
        assert [accounts[n]["priority"] for n in "abc"] == [3, 2, 1]
        assert [accounts[n]["weight"] for n in "abc"] == [1, 5, 1]
        assert {accounts[n]["credential"] for n in "abc"} == {"api_key"}
        assert [len(f.messages_requests()) for f in fakes.values()] == [1, 2, 0]
