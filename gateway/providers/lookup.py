"""Which provider is active now: the store read on a worker thread (a file read under a lock),
then the pure selection of `active`."""

from __future__ import annotations

import asyncio

from gateway.context import GatewayContext
from gateway.providers.active import ActiveProvider, active_provider
from gateway.providers.store import ProviderStore


async def current_provider(ctx: GatewayContext, store: ProviderStore) -> ActiveProvider:
    stored = await asyncio.to_thread(store.records)
    return active_provider(ctx.config, ctx.environ, stored, ctx.token_secret)
