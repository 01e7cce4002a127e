"""A gateway whose ActivityPub actor URL is its real address (so other servers can fetch its key)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from dsl.model import ActivityPubConfig, RouterConfig, UpstreamProvider
from tests.support.gateway import RunningGateway, gateway_config, running_gateway
from tests.support.ports import free_port


def federated_config(
    data_dir: Path, port: int, provider: UpstreamProvider = UpstreamProvider.ANTHROPIC, **changes: Any
) -> RouterConfig:
    config = gateway_config("http://127.0.0.1:9", data_dir)
    config = dataclasses.replace(config, upstream=dataclasses.replace(config.upstream, provider=provider))
    activitypub = changes.pop("activitypub", ActivityPubConfig())
    activitypub = dataclasses.replace(activitypub, actor_base_url=f"http://127.0.0.1:{port}")
    return dataclasses.replace(config, activitypub=activitypub, **changes)


@asynccontextmanager
async def federated_gateway(
    data_dir: Path, environ: dict[str, str] | None = None, **changes: Any
) -> AsyncIterator[RunningGateway]:
    port = free_port()
    async with running_gateway(federated_config(data_dir, port, **changes), environ, port=port) as gw:
        yield gw


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait (bounded) for something another server does in the background."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the expected background effect did not happen in time")
