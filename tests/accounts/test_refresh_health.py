"""OAuth refresh as the pool sees it: refresh health in `/v1/accounts` covers the early refresh
before expiry (not only a 401's refresh), and many requests refused at once cause one refresh.

Account `a` is an OAuth account refreshing against its own stand-in; b and c are API-key accounts.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from dsl.model import RoutingStrategy
from tests.accounts.trio import trio
from tests.support.gateway import write_credentials

SOON_MS = 120_000  # inside the 5-minute refresh margin, still valid


def oauth_home(tmp_path: Path) -> Path:
    home = tmp_path / "claude-a"
    expires_at_ms = int(time.time() * 1000) + SOON_MS
    write_credentials(home, "sk-ant-oat01-a-0", "sk-ant-ort01-a-0", expires_at_ms=expires_at_ms)
    return home


async def test_a_failing_early_refresh_shows_as_failing_while_the_valid_token_keeps_serving(
    tmp_path: Path,
) -> None:
    async with trio(tmp_path, oauth_home_a=oauth_home(tmp_path), strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].grant_refresh("sk-ant-ort01-a-0", "a")
        t.fakes["a"].oauth.throttle_next = 1  # the token endpoint answers 429 once
        assert (await t.ask()).content[0].text == "served by a"  # type: ignore[union-attr]
        assert t.fakes["a"].oauth.calls == 1
        assert [r.credential() for r in t.fakes["a"].messages_requests()] == ["sk-ant-oat01-a-0"]
        entry = (await t.accounts())["a"]
        assert entry["state"] == "healthy"
        assert (entry["refresh"]["last_ok"], entry["refresh"]["failures"]) == (False, 1)
        assert entry["refresh"]["refreshable"] is True
        assert "sk-ant" not in str(entry)


async def test_a_successful_early_refresh_shows_as_ok_with_the_new_expiry(tmp_path: Path) -> None:
    async with trio(tmp_path, oauth_home_a=oauth_home(tmp_path), strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].grant_refresh("sk-ant-ort01-a-0", "a")
        assert (await t.ask()).content[0].text == "served by a"  # type: ignore[union-attr]
        assert [r.credential() for r in t.fakes["a"].messages_requests()] == ["sk-ant-oat01-a-rotated-1"]
        refresh = (await t.accounts())["a"]["refresh"]
        assert (refresh["last_ok"], refresh["failures"]) == (True, 0)
        expiry = datetime.fromisoformat(refresh["token_expires_at"].replace("Z", "+00:00")).timestamp()
        assert 28_000 < expiry - time.time() <= 28_800


async def test_concurrent_401s_on_one_account_cause_one_refresh_not_a_stampede(tmp_path: Path) -> None:
    home = tmp_path / "claude-a"
    write_credentials(home, "sk-ant-oat01-a-0", "sk-ant-ort01-a-0", expires_at_ms=4_102_444_800_000)
    async with trio(tmp_path, oauth_home_a=home, strategy=RoutingStrategy.PRIORITY) as t:
        t.fakes["a"].accepted = set()  # the API refuses the current token (revoked early)
        t.fakes["a"].grant_refresh("sk-ant-ort01-a-0", "a")
        t.fakes["a"].oauth.delay = 0.3  # every request sees its 401 while the exchange is in flight
        answers = await asyncio.gather(*(t.ask() for _ in range(6)))
        assert {a.content[0].text for a in answers} == {"served by a"}  # type: ignore[union-attr]
        assert t.fakes["a"].oauth.calls == 1
        assert t.served() == {"a": 12, "b": 0, "c": 0}  # six refused, six resent with the new token
        assert (await t.accounts())["a"]["refresh"]["last_ok"] is True
