"""The MPP replay guard shared by replicas through Redis (when `redis.url` is configured).

A paid challenge id is claimed with `SET <prefix>mpp:paid:<id> 1 NX EXAT <expiry>`: the first
replica to claim it serves the request, every other claim of the same id fails until the challenge
would have expired anyway. Redis that cannot answer a claim refuses the payment (503) rather than
risk serving one challenge twice; Redis unreachable at start-up keeps the per-process guard and
says so. Log lines never contain the Redis URL.
"""

from __future__ import annotations

import logging
import math

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.mpp.verifiers import ReplayUnavailable

log = logging.getLogger(__name__)


class RedisReplayGuard:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}mpp:paid:"

    async def claim(self, challenge_id: str, expires_at: float) -> bool:
        try:
            stored = await self._client.set(
                self._prefix + challenge_id, "1", nx=True, exat=math.ceil(expires_at)
            )
        except (RedisError, OSError) as exc:
            log.warning("MPP replay check via Redis failed: %s", type(exc).__name__)
            raise ReplayUnavailable from None
        return bool(stored)

    async def close(self) -> None:
        await self._client.aclose()

    async def release(self, challenge_id: str) -> None:
        try:
            await self._client.delete(self._prefix + challenge_id)
        except (RedisError, OSError) as exc:  # the id stays claimed: the payer gets a fresh challenge
            log.warning("MPP replay release via Redis failed: %s", type(exc).__name__)


async def open_shared_guard(url: str, prefix: str) -> RedisReplayGuard | None:
    """A guard on the Redis at `url`, or None (and a warning) when it does not answer."""
    client = aioredis.Redis.from_url(url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        log.warning("MPP replay guard is per process (Redis unreachable: %s)", type(exc).__name__)
        return None
    return RedisReplayGuard(client, prefix)
