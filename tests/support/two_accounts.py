"""A gateway config with two API-key accounts (`alpha`, `beta`) in front of the fake upstream,
and the `fake` / `config` fixtures built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dsl.model import RouterConfig
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import api_key_account, gateway_config

ACCOUNT_ENV = {"KEY_A": "sk-ant-api03-ACCOUNT-A", "KEY_B": "sk-ant-api03-ACCOUNT-B"}
"""The environment holding the two accounts' keys; pass it to `running_gateway`."""


def two_account_config(upstream_url: str, data_dir: Path) -> RouterConfig:
    accounts = (api_key_account("alpha", "KEY_A"), api_key_account("beta", "KEY_B"))
    return gateway_config(upstream_url, data_dir, accounts=accounts)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    """The fake Anthropic upstream on 127.0.0.1:0 (import into a conftest to use)."""
    async with FakeAnthropic() as upstream:
        yield upstream


@pytest.fixture
def config(fake: FakeAnthropic, tmp_path: Path) -> RouterConfig:
    """The two-account config in front of `fake`, with a fresh data dir."""
    return two_account_config(fake.url, tmp_path / "data")
