"""Hot reload inside a running gateway: accounts whose credential did not change keep their state
(a cooldown survives the reload), a changed credential starts fresh, a listener-port change is refused
as needing a restart with nothing applied, and the gRPC ReloadConfig RPC reports the same outcomes."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from dsl.config import load_config
from dsl.model import RouterConfig
from gateway.reload.reloader import RELOADER, Outcome
from link_assistant_router_admin.v1 import config_pb2, config_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import running_gateway

BODY = {"model": "claude-test-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}
ENV = {"KEY_A": "sk-ant-a", "KEY_A2": "sk-ant-a2", "KEY_B": "sk-ant-b"}


def two_accounts(
    a_url: str, b_url: str, *, a_key: str = "KEY_A", b_weight: int = 1, port: int = 8080, server: str = ""
) -> str:
    """Account a is tried first (the higher priority), b is the fallback."""
    return (
        f"server:\n  port {port}\n{server}"
        f"accounts:\n  a:\n    api-key-env {a_key}\n    base-url '{a_url}'\n    priority 2\n"
        f"  b:\n    api-key-env KEY_B\n    base-url '{b_url}'\n    priority 1\n    weight {b_weight}\n"
        "routing:\n  strategy priority\n"
    )


class Source:
    """The 'file' a reload reads: tests change `text`."""

    def __init__(self, text: str) -> None:
        self.text = text

    def load(self) -> RouterConfig:
        return load_config(self.text, "router.lino")


async def ask(http: aiohttp.ClientSession, url: str, key: str) -> dict[str, Any]:
    async with http.post(url + "/v1/messages", headers={"x-api-key": key}, json=BODY) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_an_unchanged_account_keeps_its_cooldown_and_a_changed_one_starts_fresh() -> None:
    async with FakeAnthropic(text="from a") as a, FakeAnthropic(text="from b") as b:
        source = Source(two_accounts(a.url, b.url))
        a.then(Step.rate_limited(retry_after=600))
        async with (
            running_gateway(source.load(), ENV, reload_from=(source.load, None)) as gw,
            aiohttp.ClientSession() as http,
        ):
            key = await gw.issue_key(label="state")
            assert (await ask(http, gw.url, key))["content"][0]["text"] == "from b"  # a: 429, cooling
            pool = gw.pool
            cooling_until = pool.state("a").cooldown_until
            assert cooling_until is not None

            source.text = two_accounts(a.url, b.url, b_weight=3)  # a's credential untouched
            result = await gw.app[RELOADER].reload("test")
            assert result.outcome is Outcome.APPLIED
            assert pool.state("a").cooldown_until == cooling_until  # the cooldown survived
            assert pool.state("b").weight == 3  # the new static limit applies
            assert (await ask(http, gw.url, key))["content"][0]["text"] == "from b"
            assert len(a.messages_requests()) == 1  # the cooling account was not tried again

            source.text = two_accounts(a.url, b.url, a_key="KEY_A2", b_weight=3)  # a new credential
            assert (await gw.app[RELOADER].reload("test")).outcome is Outcome.APPLIED
            assert pool.state("a").cooldown_until is None
            assert (await ask(http, gw.url, key))["content"][0]["text"] == "from a"
            assert a.messages_requests()[-1].headers.get("x-api-key") == "sk-ant-a2"


async def test_a_listener_port_change_is_refused_and_nothing_is_applied() -> None:
    async with FakeAnthropic(text="from a") as a, FakeAnthropic(text="from b") as b:
        source = Source(two_accounts(a.url, b.url))
        async with running_gateway(source.load(), ENV, reload_from=(source.load, None)) as gw:
            before = gw.ctx.config
            source.text = two_accounts(b.url, a.url, port=9999)
            result = await gw.app[RELOADER].reload("test")
            assert result.outcome is Outcome.RESTART_REQUIRED
            assert result.restart_keys == ("server.port",)
            assert gw.ctx.config is before  # not half-applied: the account URLs did not move either
            assert gw.app[RELOADER].detail()["last_reload_failed"] is True


async def test_reload_over_grpc() -> None:
    grpc_server = "  admin-grpc-host 127.0.0.1\n  admin-grpc-port 0\n"  # as grpc_gateway runs it
    async with FakeAnthropic() as a, FakeAnthropic() as b:
        source = Source(two_accounts(a.url, b.url, server=grpc_server))
        async with grpc_gateway(source.load(), ENV, reload_from=(source.load, None)) as (gw, channel):
            configs = config_pb2_grpc.ConfigServiceStub(channel)
            unchanged = await configs.ReloadConfig(config_pb2.ReloadConfigRequest())
            assert unchanged.outcome == "unchanged" and "config" not in unchanged.reloaded
            source.text = two_accounts(a.url, b.url, b_weight=2, server=grpc_server)
            applied = await configs.ReloadConfig(config_pb2.ReloadConfigRequest())
            assert applied.outcome == "applied" and list(applied.reloaded) == [
                "config",
                "tokens",
                "providers",
            ]
            assert list(applied.changes) == ["~ accounts.b.weight: 1 -> 2"]
            source.text = "server:\n  port abc\n"
            invalid = await configs.ReloadConfig(config_pb2.ReloadConfigRequest())
            assert invalid.outcome == "invalid" and "router.lino:2:3:" in invalid.problems[0]
            assert gw.ctx.config.accounts[1].weight == 2


async def test_a_pipeline_setting_takes_effect_for_new_requests() -> None:
    def upstream_only(url: str) -> str:  # the upstream base URL is the request pipeline's, not an account's
        return f"upstream:\n  base-url '{url}'\naccounts:\n  a:\n    api-key-env KEY_A\n"

    async with FakeAnthropic(text="from one") as one, FakeAnthropic(text="from two") as two:
        source = Source(upstream_only(one.url))
        async with (
            running_gateway(source.load(), ENV, reload_from=(source.load, None)) as gw,
            aiohttp.ClientSession() as http,
        ):
            key = await gw.issue_key(label="pipeline")
            assert (await ask(http, gw.url, key))["content"][0]["text"] == "from one"
            source.text = upstream_only(two.url)
            assert (await gw.app[RELOADER].reload("test")).outcome is Outcome.APPLIED
            assert (await ask(http, gw.url, key))["content"][0]["text"] == "from two"


async def test_the_reload_routes_are_admin_only() -> None:
    async with FakeAnthropic() as a, FakeAnthropic() as b:
        text = two_accounts(a.url, b.url) + "admin:\n  admin-key-env ADMIN_KEY\n"
        source = Source(text)
        env = {**ENV, "ADMIN_KEY": "admin-key-0123456789"}
        async with (
            running_gateway(source.load(), env, reload_from=(source.load, None)) as gw,
            aiohttp.ClientSession() as http,
        ):
            for method in ("GET", "POST"):
                async with http.request(method, gw.url + "/api/config/reload") as response:
                    assert response.status == 401
                    assert (await response.json())["error"]["type"] == "authentication_error"
            admin = {"authorization": "Bearer admin-key-0123456789"}
            async with http.post(gw.url + "/api/config/reload", headers=admin) as response:
                assert response.status == 200 and (await response.json())["outcome"] == "unchanged"
            async with http.get(gw.url + "/api/config/reload", headers=admin) as response:
                body = await response.json()
            assert body["last_reload_failed"] is False and body["last_reload"]["outcome"] == "unchanged"
            assert "admin-key-0123456789" not in json.dumps(body)
