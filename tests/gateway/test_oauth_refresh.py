"""OAuth access tokens are refreshed near expiry (single-flight), rotated pairs live in the router's
data dir and never in the user's Claude Code files, and changed credential files are re-read."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path

import aiohttp
import anthropic

from tests.accounts.vclock import VirtualClock
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import gateway_config, running_gateway, write_credentials

MODEL = "claude-test-1"
HI = [{"role": "user", "content": "Hi"}]
OLD_ACCESS = "sk-ant-oat01-OLD-ACCESS"
OLD_REFRESH = "sk-ant-ort01-OLD-REFRESH"


def soon_ms(seconds: float) -> int:
    return int((time.time() + seconds) * 1000)


async def ask(url: str, key: str) -> str:
    client = anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0)
    try:
        message = await client.messages.create(model=MODEL, max_tokens=5, messages=HI)  # type: ignore[arg-type]
    finally:
        await client.close()
    return message.content[0].text  # type: ignore[union-attr]


async def test_expiring_token_is_refreshed_once_for_concurrent_requests(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    cred_file = write_credentials(home, OLD_ACCESS, OLD_REFRESH, expires_at_ms=soon_ms(60))
    original = cred_file.read_bytes()
    async with FakeAnthropic(accepted={OLD_ACCESS}) as fake:
        fake.grant_refresh(OLD_REFRESH, "main")
        fake.oauth.delay = 0.2  # concurrent callers pile up behind one exchange
        async with running_gateway(gateway_config(fake.url, tmp_path / "data", home)) as gw:
            key = await gw.issue_key()
            answers = await asyncio.gather(*(ask(gw.url, key) for _ in range(8)))
    assert answers == [fake.text] * 8
    assert fake.oauth.calls == 1
    refresh_call = next(r for r in fake.requests if r.path == "/v1/oauth/token").json()
    assert refresh_call["grant_type"] == "refresh_token" and refresh_call["refresh_token"] == OLD_REFRESH
    assert refresh_call["client_id"] == "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
    used = {r.credential() for r in fake.messages_requests()}
    assert used == {"sk-ant-oat01-main-rotated-1"}
    assert cred_file.read_bytes() == original  # the user's Claude Code file is never written
    state_file = tmp_path / "data" / "oauth" / "primary.json"
    state = json.loads(state_file.read_text())
    assert state["access_token"] == "sk-ant-oat01-main-rotated-1"
    assert state["refresh_token"] == "sk-ant-ort01-main-rotated-1"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_file.parent.stat().st_mode) == 0o700


async def test_rotated_pair_survives_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, OLD_ACCESS, OLD_REFRESH, expires_at_ms=soon_ms(60))
    async with FakeAnthropic(accepted={OLD_ACCESS}) as fake:
        fake.grant_refresh(OLD_REFRESH, "main")
        config = gateway_config(fake.url, tmp_path / "data", home)
        async with running_gateway(config) as gw:
            assert await ask(gw.url, await gw.issue_key()) == fake.text
        # The old refresh token is dead now; a restarted gateway must use the stored pair.
        async with running_gateway(config) as gw:
            assert await ask(gw.url, await gw.issue_key()) == fake.text
    assert fake.oauth.calls == 1
    assert [r.credential() for r in fake.messages_requests()] == ["sk-ant-oat01-main-rotated-1"] * 2


async def test_401_from_upstream_triggers_one_refresh_and_a_retry(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, OLD_ACCESS, OLD_REFRESH, expires_at_ms=soon_ms(3600))
    async with FakeAnthropic(accepted=set()) as fake:  # the vendor revoked the token before its expiry
        fake.grant_refresh(OLD_REFRESH, "main")
        async with running_gateway(gateway_config(fake.url, tmp_path / "data", home)) as gw:
            assert await ask(gw.url, await gw.issue_key()) == fake.text
    assert [r.credential() for r in fake.messages_requests()] == [OLD_ACCESS, "sk-ant-oat01-main-rotated-1"]


async def test_dead_refresh_token_on_an_expired_credential_is_a_502(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, OLD_ACCESS, "sk-ant-ort01-REVOKED", expires_at_ms=soon_ms(-60))
    async with (
        FakeAnthropic() as fake,
        running_gateway(gateway_config(fake.url, tmp_path / "data", home)) as gw,
    ):
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        try:
            await client.messages.create(model=MODEL, max_tokens=5, messages=HI)  # type: ignore[arg-type]
            raise AssertionError("expected a 502")
        except anthropic.APIStatusError as exc:
            assert exc.status_code == 502
            assert exc.body["error"]["message"].startswith("Upstream authentication unavailable")  # type: ignore[index]
        finally:
            await client.close()
    assert fake.messages_requests() == []


async def test_changed_credential_file_is_reread(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, OLD_ACCESS, nested=False)
    clock = VirtualClock()
    async with (
        FakeAnthropic() as fake,
        running_gateway(gateway_config(fake.url, tmp_path / "data", home), clock=clock) as gw,
    ):
        key = await gw.issue_key()
        await ask(gw.url, key)
        write_credentials(home, "sk-ant-oat01-NEW-LOGIN", nested=False)
        clock.advance(0.5)  # files are re-checked at most once a second
        await ask(gw.url, key)
        clock.advance(0.6)
        await ask(gw.url, key)
    assert [r.credential() for r in fake.messages_requests()] == [
        OLD_ACCESS,
        OLD_ACCESS,
        "sk-ant-oat01-NEW-LOGIN",
    ]


async def test_refresh_retry_keeps_the_account_slot_count_exact(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, OLD_ACCESS, OLD_REFRESH, expires_at_ms=soon_ms(3600))
    async with FakeAnthropic() as fake:
        fake.grant_refresh(OLD_REFRESH, "main")
        fake.then(Step.stall(after_events=4, seconds=30), Step.unauthorized(), Step.ok())
        async with running_gateway(gateway_config(fake.url, tmp_path / "data", home)) as gw:
            key = await gw.issue_key()
            async with aiohttp.ClientSession() as http:
                slow = await http.post(
                    gw.url + "/v1/messages",
                    headers={"x-api-key": key},
                    json={"model": MODEL, "max_tokens": 5, "stream": True, "messages": HI},
                )
                await slow.content.readany()  # the stream is in flight on the only account
                assert await ask(gw.url, key) == fake.text  # 401 → refresh → retry, meanwhile
                during = [e["in_flight"] for e in gw.pool.snapshot()]
                slow.close()  # the slow stream's client leaves; its slot comes back
                for _ in range(200):  # bounded: at most 10 s
                    after = [e["in_flight"] for e in gw.pool.snapshot()]
                    if after == [0]:
                        break
                    await asyncio.sleep(0.05)
    assert fake.oauth.calls == 1
    assert (during, after) == ([1], [0])


async def test_deleted_credential_file_retires_the_account_even_after_a_rotation(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    cred_file = write_credentials(home, OLD_ACCESS, OLD_REFRESH, expires_at_ms=soon_ms(60))
    clock = VirtualClock()
    async with (
        FakeAnthropic() as fake,
        running_gateway(gateway_config(fake.url, tmp_path / "data", home), clock=clock) as gw,
    ):
        fake.grant_refresh(OLD_REFRESH, "main")
        key = await gw.issue_key()
        assert await ask(gw.url, key) == fake.text  # rotated and stored in the data dir
        cred_file.unlink()  # the user logged out of Claude Code
        clock.advance(1.1)  # files are re-checked at most once a second
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0)
        try:
            await client.messages.create(model=MODEL, max_tokens=5, messages=HI)  # type: ignore[arg-type]
            raise AssertionError("expected a 502")
        except anthropic.APIStatusError as exc:
            assert exc.status_code == 502
        finally:
            await client.close()
    assert len(fake.messages_requests()) == 1


async def test_throttled_refresh_keeps_the_valid_token_and_does_not_hammer(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, OLD_ACCESS, OLD_REFRESH, expires_at_ms=soon_ms(120))  # inside the 5 min skew
    async with (
        FakeAnthropic() as fake,
        running_gateway(gateway_config(fake.url, tmp_path / "data", home)) as gw,
    ):
        fake.grant_refresh(OLD_REFRESH, "main")
        fake.oauth.throttle_next = 1
        key = await gw.issue_key()
        answers = [await ask(gw.url, key) for _ in range(3)]
    assert answers == [fake.text] * 3
    assert fake.oauth.calls == 1  # one 429 from the token endpoint, then a pause (retry-after 60)
    assert [r.credential() for r in fake.messages_requests()] == [OLD_ACCESS] * 3
