"""Fixtures: a scripted Anthropic stand-in and a real gateway in front of it, on 127.0.0.1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from dsl.model import RouterConfig
from tests.openai.upstream import ScriptedAnthropic
from tests.support.gateway import RunningGateway, api_key_account, gateway_config, running_gateway

ACCOUNT_KEY = "sk-ant-api03-upstream-secret-for-tests"


@pytest.fixture
async def upstream() -> AsyncIterator[ScriptedAnthropic]:
    async with ScriptedAnthropic(text="Hello from the fake upstream") as fake:
        yield fake


def config_for(upstream_url: str, data_dir: Path, **changes: Any) -> RouterConfig:
    config = gateway_config(upstream_url, data_dir, accounts=(api_key_account("main", "ACCOUNT_KEY"),))
    return dataclasses.replace(config, **changes)


@pytest.fixture
async def gateway(upstream: ScriptedAnthropic, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    async with running_gateway(config_for(upstream.url, tmp_path), {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        yield gw


@pytest.fixture
async def client(gateway: RunningGateway) -> AsyncIterator[openai.AsyncOpenAI]:
    key = await gateway.issue_key(label="openai-tests")
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0) as sdk:
        yield sdk
