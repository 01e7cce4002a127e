"""Where the provider store lives for a running gateway, and which provider is active now.

The store is made once per app (its data dir, its key-encryption secret); `current_provider` reads
it on a worker thread (a file read under a lock) and applies the pure selection of `active`.
"""

from __future__ import annotations

import asyncio

from gateway.context import GatewayContext
from gateway.providers.active import ActiveProvider, active_provider
from gateway.providers.store import ProviderStore


def provider_store(ctx: GatewayContext) -> ProviderStore:
    """The data dir's provider store; created on first use and kept on the context."""
    if not isinstance(ctx.providers, ProviderStore):
        ctx.providers = ProviderStore(ctx.data_dir, ctx.token_secret)
    store: ProviderStore = ctx.providers
    return store


async def current_provider(ctx: GatewayContext) -> ActiveProvider:
    stored = await asyncio.to_thread(provider_store(ctx).records)
    return active_provider(ctx.config, ctx.environ, stored, ctx.token_secret)
