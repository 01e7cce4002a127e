"""Fixtures for admin_grpc tests: a fake Anthropic upstream and a two-account gateway config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dsl.model import RouterConfig
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.two_accounts import two_account_config


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as upstream:
        yield upstream


@pytest.fixture
def config(fake: FakeAnthropic, tmp_path: Path) -> RouterConfig:
    return two_account_config(fake.url, tmp_path / "data")
