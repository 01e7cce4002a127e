"""Text no store can write (a lone surrogate) is refused at every door and never stalls the store.

Before: `POST /api/tokens {"label":"\\ud800"}` hung (the journal write raised inside the batch, its
future never settled), revokes in the same batch were enforced in memory but never persisted (the
key came back after a restart), and the CLI crashed on such a label.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import aiohttp
import grpc
import pytest

from dsl.model import RouterConfig
from gateway.tokens.records import TokenRecord
from gateway.tokens.state import StoreError
from tests.support.admin_grpc import grpc_gateway
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway
from tests.support.two_accounts import ACCOUNT_ENV

from .helpers import open_service, run_cli


async def test_http_refuses_a_lone_surrogate_label_and_a_revoke_beside_it_persists(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    config = gateway_config(fake.url, tmp_path / "data", claude_home)
    async with running_gateway(config) as gw, aiohttp.ClientSession() as http:
        async with http.post(gw.url + "/api/tokens", json={"label": "keep"}) as response:
            victim = (await response.json())["id"]

        async def bad_issue() -> tuple[int, dict[str, object]]:
            raw = b'{"label":"\\ud800"}'
            async with http.post(gw.url + "/api/tokens", data=raw) as response:
                return response.status, await response.json()

        async def revoke() -> int:
            async with http.post(gw.url + "/api/tokens/revoke", json={"id": victim}) as response:
                return response.status

        (status, body), revoked = await asyncio.wait_for(asyncio.gather(bad_issue(), revoke()), 10)
        assert status == 400 and body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        assert "label must be valid Unicode text" in body["error"]["message"]  # type: ignore[index]
        assert revoked == 200
    async with running_gateway(config) as gw:  # after a restart the revoke is still there
        record = gw.tokens.get(victim)
        assert record is not None and record.revoked


async def test_grpc_refuses_a_label_that_is_not_utf8_with_invalid_argument(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (_gw, channel):
        issue = channel.unary_unary("/linkassistant.router.admin.v1.TokenService/CreateToken")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await issue(b"\x12\x02\xed\xa0")  # field 2 (label): the UTF-8-style bytes of a surrogate
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "bad UTF-8" in (info.value.details() or "")


def test_the_cli_refuses_a_label_that_is_not_utf8_with_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # A non-UTF-8 byte on the command line reaches Python as a lone surrogate (surrogateescape).
    result = run_cli(data, "tokens", "issue", "--label", "ci-\udcff")
    assert result.returncode == 1, result.stderr
    assert "error: label must be valid Unicode text" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_cli(data, "tokens", "list").returncode == 0


async def test_a_change_that_cannot_be_written_fails_only_its_own_caller(tmp_path: Path) -> None:
    service = await open_service(tmp_path, commit_interval=0.05)
    keep = await service.issue(label="keep")
    store = service.store
    bad = dataclasses.replace(keep.record, id="other", label="\ud800")
    results = await asyncio.wait_for(
        asyncio.gather(store.put(bad), store.revoke(keep.record.id), return_exceptions=True), 5
    )
    assert isinstance(results[0], StoreError) and "unpaired surrogate" in str(results[0])
    assert isinstance(results[1], TokenRecord) and results[1].revoked
    assert store.get("other") is None  # the refused change is not enforced either
    await service.close()
    reopened = await open_service(tmp_path)
    record = reopened.get(keep.record.id)
    await reopened.close()
    assert record is not None and record.revoked
