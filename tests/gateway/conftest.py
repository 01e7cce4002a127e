"""Fixtures for gateway tests: a fake upstream and a gateway in front of it, both on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.fake_anthropic import FakeAnthropic

OAUTH_ACCESS = "sk-ant-oat01-REAL-ACCESS-abcdef"
OAUTH_REFRESH = "sk-ant-ort01-REAL-REFRESH-abcdef"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as upstream:
        yield upstream


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    from tests.support.gateway import write_credentials

    home = tmp_path / "claude"
    write_credentials(home, OAUTH_ACCESS, OAUTH_REFRESH, expires_at_ms=4_102_444_800_000)
    return home
