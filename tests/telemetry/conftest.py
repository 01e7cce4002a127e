"""Fixtures for telemetry tests: a fake Anthropic upstream and a two-account gateway config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dsl.model import RouterConfig
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import api_key_account, gateway_config

ACCOUNT_ENV = {"KEY_A": "sk-ant-api03-ACCOUNT-A", "KEY_B": "sk-ant-api03-ACCOUNT-B"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as upstream:
        yield upstream


@pytest.fixture
def config(fake: FakeAnthropic, tmp_path: Path) -> RouterConfig:
    accounts = (api_key_account("alpha", "KEY_A"), api_key_account("beta", "KEY_B"))
    return gateway_config(fake.url, tmp_path / "data", accounts=accounts)
