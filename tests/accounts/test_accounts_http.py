"""`GET /v1/accounts`: the seed's shape, admin-only, and single-account mode."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aiohttp

from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway, write_credentials


async def test_single_account_mode_keeps_the_seed_note(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, "sk-ant-oat01-SECRET", "sk-ant-ort01-SECRET", 4_102_444_800_000)
    async with (
        FakeAnthropic() as fake,
        running_gateway(gateway_config(fake.url, tmp_path / "d", home)) as gw,
        aiohttp.ClientSession() as http,
        http.get(gw.url + "/v1/accounts") as response,
    ):
        body = await response.json()
        text = await response.text()
    assert response.status == 200
    assert body["note"] == "single-account mode (no AccountRouter configured)"
    [entry] = body["accounts"]
    seed_fields = {"name", "home", "healthy", "used", "last_error", "cooldown_remaining_seconds"}
    assert seed_fields <= set(entry)
    assert entry["name"] == "primary" and entry["home"] == str(home) and entry["healthy"] is True
    assert entry["cooldown_remaining_seconds"] is None and entry["last_error"] is None
    assert "SECRET" not in text


async def test_with_an_admin_key_the_list_needs_it(tmp_path: Path) -> None:
    env = {"TOKEN_ADMIN_KEY": "admin-key-123"}
    async with (
        FakeAnthropic() as fake,
        running_gateway(gateway_config(fake.url, tmp_path / "d"), env) as gw,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(gw.url + "/v1/accounts") as response:
            refused = await response.json()
            assert response.status == 401
        async with http.get(gw.url + "/v1/accounts", headers={"authorization": "Bearer admin-key-123"}) as ok:
            assert ok.status == 200
            assert "accounts" in await ok.json()
    assert refused["type"] == "error" and refused["error"]["type"] == "authentication_error"


async def test_disable_metrics_hides_the_list_like_the_seed_says(tmp_path: Path) -> None:
    config = gateway_config("http://127.0.0.1:9", tmp_path / "d")
    off = dataclasses.replace(config, features=dataclasses.replace(config.features, metrics=False))
    async with (
        running_gateway(off) as gw,
        aiohttp.ClientSession() as http,
        http.get(gw.url + "/v1/accounts") as response,
    ):
        body = await response.json()
    assert response.status == 404
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
