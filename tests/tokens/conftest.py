"""Fixtures for token tests that need a real gateway: a fake Anthropic upstream and a Claude home."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dsl.model import RouterConfig
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import write_credentials
from tests.support.two_accounts import two_account_config

OAUTH_ACCESS = "sk-ant-oat01-TOKENS-TEST-ACCESS"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as upstream:
        yield upstream


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    home = tmp_path / "claude"
    write_credentials(home, OAUTH_ACCESS, expires_at_ms=4_102_444_800_000)
    return home


@pytest.fixture
async def config(fake: FakeAnthropic, tmp_path: Path) -> RouterConfig:
    """A two-account gateway config (API keys from ACCOUNT_ENV) on the fake upstream."""
    return two_account_config(fake.url, tmp_path / "data")
