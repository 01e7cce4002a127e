"""Three upstream stand-ins acting as three accounts, and a gateway in front of them.

Each account `a`, `b`, `c` is an API-key account whose base URL points at its own
`FakeAnthropic`, so "which account served" is simply "which stand-in saw the request".
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic

from dsl.model import AccountConfig, RouterConfig, SecretRef
from gateway.accounts.state import Clock
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import RunningGateway, gateway_config, running_gateway

NAMES = ("a", "b", "c")
MODEL = "claude-test-1"
HI: Any = [{"role": "user", "content": "Hi"}]


@dataclass
class Trio:
    fakes: dict[str, FakeAnthropic]
    gw: RunningGateway
    client: anthropic.AsyncAnthropic
    key: str
    """The la_sk_ key the client uses."""

    def served(self) -> dict[str, int]:
        return {name: len(fake.messages_requests()) for name, fake in self.fakes.items()}

    async def ask(self, **kwargs: Any) -> anthropic.types.Message:
        message: anthropic.types.Message = await self.client.messages.create(
            model=MODEL, max_tokens=5, messages=HI, **kwargs
        )
        return message

    async def accounts(self) -> dict[str, dict[str, Any]]:
        response = await self.client.get("/v1/accounts", cast_to=object)
        assert isinstance(response, dict)
        return {e["name"]: e for e in response["accounts"]}


def trio_config(
    fakes: dict[str, FakeAnthropic],
    data_dir: Path,
    oauth_home_a: Path | None = None,
    max_concurrent_a: int | None = None,
    **routing: Any,
) -> RouterConfig:
    """Accounts a, b, c on their own stand-ins; `a` is an OAuth account when given a credential dir
    (its token refreshes against a's stand-in)."""
    configured = tuple(
        AccountConfig(name, oauth_home=str(oauth_home_a), base_url=fakes[name].url)
        if name == "a" and oauth_home_a is not None
        else AccountConfig(name, api_key=SecretRef(env=f"KEY_{name.upper()}"), base_url=fakes[name].url)
        for name in NAMES
    )
    if max_concurrent_a is not None:
        configured = (dataclasses.replace(configured[0], max_concurrent=max_concurrent_a), *configured[1:])
    return gateway_config(fakes["a"].url, data_dir, accounts=configured, **routing)


@asynccontextmanager
async def trio(
    tmp_path: Path,
    key_kwargs: dict[str, Any] | None = None,
    oauth_home_a: Path | None = None,
    max_concurrent_a: int | None = None,
    unset_keys: tuple[str, ...] = (),
    clock: Clock | None = None,
    **routing: Any,
) -> AsyncIterator[Trio]:
    async with AsyncExitStack() as stack:
        fakes = {
            name: await stack.enter_async_context(FakeAnthropic(text=f"served by {name}")) for name in NAMES
        }
        config = trio_config(fakes, tmp_path / "data", oauth_home_a, max_concurrent_a, **routing)
        env = {f"KEY_{n.upper()}": f"sk-ant-api03-{n}" for n in NAMES}
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")  # the cli routing mode runs `claude`
        for name in unset_keys:
            del env[name]
        gw = await stack.enter_async_context(running_gateway(config, env, clock))
        key = await gw.issue_key(**(key_kwargs or {}))
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        stack.push_async_callback(client.close)
        yield Trio(fakes, gw, client, key)
