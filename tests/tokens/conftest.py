"""Fixtures for token tests that need a real gateway: a fake Anthropic upstream and a Claude home."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import write_credentials

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
