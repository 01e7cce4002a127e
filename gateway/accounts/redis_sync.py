"""Share the pool's cooldowns and admin actions between replicas through Redis.

Keys under the configured prefix `p` (default `lar:`):
* `p accounts:cooldowns` — hash: account → the latest cooldown event (JSON, absolute end time);
* `p accounts:drained` — set of drained accounts;
* channel `p accounts:events` — every event as it happens.
A replica adopts the stored state when it starts and every event after that, so an account that
one pod saw rate-limited is skipped by all pods until its cooldown ends. Redis trouble never stops
routing: each replica then works on what it saw itself. Log lines never contain the Redis URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.accounts.pool import AccountPool
from gateway.accounts.shared import EventKind, PoolEvent, decode_event

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
QUEUE_LIMIT = 1000


class RedisPoolSync:
    def __init__(self, pool: AccountPool, url: str, prefix: str) -> None:
        self._pool = pool
        self._url = url
        self._cooldowns = f"{prefix}accounts:cooldowns"
        self._drained = f"{prefix}accounts:drained"
        self._channel = f"{prefix}accounts:events"
        self._queue: asyncio.Queue[PoolEvent] = asyncio.Queue(QUEUE_LIMIT)
        self._redis: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    async def open(self) -> bool:
        client = aioredis.Redis.from_url(self._url, decode_responses=True)
        try:
            await client.ping()
            stored = await client.hgetall(self._cooldowns)
            drained = await client.smembers(self._drained)
            pubsub = client.pubsub()
            await pubsub.subscribe(self._channel)
        except (RedisError, OSError) as exc:
            await client.aclose()
            log.warning("account sharing via Redis is off: %s", type(exc).__name__)
            return False
        self._redis = client
        for text in stored.values():
            event = decode_event(text)
            if event is not None:
                self._pool.adopt(event)
        for name in drained:
            self._pool.adopt(PoolEvent(EventKind.DRAIN, str(name)))
        self._pool.origin = uuid.uuid4().hex
        self._pool.publish = self.publish
        self._tasks = [
            asyncio.create_task(self._listen(pubsub), name="accounts-redis-listen"),
            asyncio.create_task(self._write(), name="accounts-redis-write"),
        ]
        return True

    def publish(self, event: PoolEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("account event for %s not shared: the Redis writer is behind", event.account)

    async def _write(self) -> None:
        while not self._closing:
            try:
                event = await asyncio.wait_for(self._queue.get(), POLL_SECONDS)
            except TimeoutError:
                continue
            try:
                await self._store(event)
            except (RedisError, OSError) as exc:
                log.warning(
                    "could not share the %s of account %s: %s", event.kind, event.account, type(exc).__name__
                )

    async def _store(self, event: PoolEvent) -> None:
        assert self._redis is not None
        pipe = self._redis.pipeline(transaction=True)
        if event.kind is EventKind.COOLDOWN:
            pipe.hset(self._cooldowns, event.account, event.encode())
        elif event.kind is EventKind.RESET:
            pipe.hdel(self._cooldowns, event.account)
        elif event.kind is EventKind.DRAIN:
            pipe.sadd(self._drained, event.account)
        else:
            pipe.srem(self._drained, event.account)
        pipe.publish(self._channel, event.encode())
        await pipe.execute()

    async def _listen(self, pubsub: Any) -> None:
        try:
            while not self._closing:
                try:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
                except (RedisError, OSError) as exc:
                    log.warning("account event channel: %s", type(exc).__name__)
                    await asyncio.sleep(POLL_SECONDS)
                    continue
                if message is not None and message.get("type") == "message":
                    event = decode_event(message["data"])
                    if event is not None:
                        self._pool.adopt(event)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def close(self) -> None:
        self._pool.publish = None
        # Flush what is queued, briefly: a cooldown seen just before shutdown is still worth sharing.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                while not self._queue.empty():
                    await asyncio.sleep(POLL_SECONDS / 2)
        self._closing = True  # loops stop on the flag: pubsub reads can swallow a cancellation
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=POLL_SECONDS * 4)
            for task in stuck:
                task.cancel()
        self._tasks = []
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
