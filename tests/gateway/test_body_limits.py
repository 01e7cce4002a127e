"""Body limits per route: the admin API takes small bodies, the model routes large ones.

Before: one app-wide limit (32 MiB) for every route, so an admin call could make the gateway
read 32 MiB; now each family has its own (configurable), checked before the body is read.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp

from dsl.config.loader import load_config
from dsl.model import ServerConfig
from gateway.http.body_limits import limit_for
from gateway.http.families import Family
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway


def test_each_family_has_its_limit() -> None:
    server = ServerConfig()
    assert limit_for(Family.ADMIN, server) == 1024 * 1024
    assert limit_for(Family.ANTHROPIC, server) == limit_for(Family.OPENAI, server) == 32 * 1024 * 1024
    loaded = load_config("server:\n  max-body-size 2MiB\n  admin-max-body-size 8MiB\n").server
    assert limit_for(Family.ADMIN, loaded) == 2 * 1024 * 1024  # never above the app-wide cap


async def test_a_large_admin_body_is_refused_unread_and_a_large_model_body_passes(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    base = gateway_config(fake.url, tmp_path / "data", claude_home)
    config = dataclasses.replace(base, server=dataclasses.replace(base.server, admin_max_body_bytes=1024))
    padding = "x" * 4096
    async with running_gateway(config) as gw, aiohttp.ClientSession() as http:
        async with http.post(gw.url + "/api/tokens", json={"label": "ok"}) as response:
            assert response.status == 200
        async with http.post(gw.url + "/api/tokens", json={"label": "big", "pad": padding}) as response:
            body = await response.json()
            assert response.status == 413, body
            assert body["error"]["type"] == "request_too_large"
            assert "limit 1024 bytes" in body["error"]["message"]
        key = await gw.issue_key()
        messages = [{"role": "user", "content": padding}]
        async with http.post(
            gw.url + "/v1/messages",
            json={"model": "m", "max_tokens": 5, "messages": messages},
            headers={"x-api-key": key},
        ) as response:
            assert response.status == 200
