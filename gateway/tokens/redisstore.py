"""Redis-backed token store: records, revocations, usage and budgets shared by every replica.

Keys under the configured prefix `p` (default `lar:`):
* `p tokens` (no space) — a set of every token id;
* `p token:<id>` — a hash of the record (`to_hash`); counters change only by HINCRBY;
* `p rate:<id>` — a sorted set of the last minute's request times (rate-limited tokens only);
* channel `p tokens:changed` — the id of a record that an admin changed (issue, revoke, expire).

Admission (revoked, expired, request and token budgets, requests per minute, then the count) is
one Lua script, so a budget of N admits exactly N requests across all replicas, and a revocation
holds on every replica from the moment the admin call returns. Each replica keeps a read cache for
`list`/`get`, updated from the channel at once and fully every `refresh_interval` seconds (other
replicas' usage counters may lag that much in listings, never in enforcement). Durability is the
Redis server's own (configure AOF for it). Error messages never contain the Redis URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.tokens.jwt_codec import LEEWAY_SECONDS
from gateway.tokens.records import Denial, RecordError, TokenRecord
from gateway.tokens.state import Admission, StoreError, TokenState

log = logging.getLogger(__name__)

ADMIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local f = redis.call('HMGET', KEYS[1], 'revoked', 'expires_at', 'max_requests', 'used_requests',
  'max_tokens', 'used_input_tokens', 'used_output_tokens', 'rate_limit_per_minute')
local now, jwt_exp = tonumber(ARGV[2]), tonumber(ARGV[1])
if f[1] == '1' then return {1} end
local expires_at = tonumber(f[2]) or 0
if expires_at < jwt_exp then
  if now >= expires_at then return {2} end
elseif now > expires_at + tonumber(ARGV[4]) then return {2} end
if f[3] and (tonumber(f[4]) or 0) >= tonumber(f[3]) then return {3} end
if f[5] and (tonumber(f[6]) or 0) + (tonumber(f[7]) or 0) >= tonumber(f[5]) then return {4} end
if f[8] then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(f[8]) then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {5, tostring(tonumber(oldest[2]) + 60 - now)}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[3])
  redis.call('EXPIRE', KEYS[2], 61)
end
redis.call('HINCRBY', KEYS[1], 'used_requests', 1)
return {0, redis.call('HGETALL', KEYS[1])}
"""

# Change fields of an existing record only (never create one); answer the record after the change.
SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HGETALL', KEYS[1])
"""

ADD_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('HINCRBY', KEYS[1], 'used_input_tokens', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'used_output_tokens', ARGV[2])
return redis.call('HGETALL', KEYS[1])
"""

LISTEN_POLL_SECONDS = 0.1
REOPEN_AFTER_SECONDS = 1.0
DENIALS = {
    1: Denial.REVOKED,
    2: Denial.EXPIRED,
    3: Denial.REQUEST_BUDGET,
    4: Denial.TOKEN_BUDGET,
    5: Denial.RATE_LIMIT,
}
_OPTIONAL = ("account", "max_requests", "max_tokens", "rate_limit_per_minute")
_INTS = ("issued_at", "expires_at", "used_requests", "used_input_tokens", "used_output_tokens")


def to_hash(record: TokenRecord) -> dict[str, str]:
    """A record as Redis hash fields; unset optional fields are left out (HMGET gives nil)."""
    fields = {"id": record.id, "label": record.label, "revoked": "1" if record.revoked else "0"}
    fields.update({name: str(getattr(record, name)) for name in _INTS})
    for name in _OPTIONAL:
        if getattr(record, name) is not None:
            fields[name] = str(getattr(record, name))
    return fields


def from_hash(fields: Mapping[str, str]) -> TokenRecord:
    def count(name: str) -> int:
        return int(fields.get(name, "0"))

    def cap(name: str) -> int | None:
        return int(fields[name]) if name in fields else None

    try:
        return TokenRecord(
            id=fields["id"],
            label=fields.get("label", ""),
            issued_at=count("issued_at"),
            expires_at=count("expires_at"),
            revoked=fields.get("revoked") == "1",
            account=fields.get("account"),
            max_requests=cap("max_requests"),
            used_requests=count("used_requests"),
            max_tokens=cap("max_tokens"),
            used_input_tokens=count("used_input_tokens"),
            used_output_tokens=count("used_output_tokens"),
            rate_limit_per_minute=cap("rate_limit_per_minute"),
        )
    except (KeyError, ValueError) as exc:
        raise RecordError(f"bad token hash in Redis: {exc}") from None


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


class RedisTokenStore(TokenState):
    persistent = True

    def __init__(
        self,
        url: str,
        prefix: str = "lar:",
        *,
        refresh_interval: float = 2.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`clock` (seconds, monotonic; the event loop's by default) paces re-opening after a
        failed open, so a test can step past the window instead of sleeping through it."""
        super().__init__()
        self._url = url
        self.prefix, self.refresh_interval = prefix, refresh_interval
        self._clock = clock
        self._redis: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._opening: asyncio.Future[None] | None = None
        self._opened_at = 0.0
        self._closing = False

    def _key(self, token_id: str) -> str:
        return f"{self.prefix}token:{token_id}"

    @property
    def _channel(self) -> str:
        return f"{self.prefix}tokens:changed"

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        client = aioredis.Redis.from_url(self._url, decode_responses=True)
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            await client.aclose()
            raise StoreError(f"cannot reach Redis for the token store ({type(exc).__name__})") from None
        self._redis = client
        self._admit = client.register_script(ADMIT)
        self._set = client.register_script(SET_IF_EXISTS)
        self._add = client.register_script(ADD_IF_EXISTS)
        await self._refresh_all()
        pubsub = client.pubsub()
        await pubsub.subscribe(self._channel)
        self._tasks = [
            asyncio.create_task(self._listen(pubsub), name="token-redis-listen"),
            asyncio.create_task(self._refresh_loop(), name="token-redis-refresh"),
        ]

    def start(self) -> None:
        """Open in the background (wiring code cannot await); every operation waits for it, and a
        failed open is retried by a later operation (Redis may come up after the gateway)."""
        self._opening = asyncio.ensure_future(self.open())
        self._opened_at = self._now()

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def _ready(self) -> aioredis.Redis:
        if self._redis is not None:
            return self._redis
        if self._opening is None:
            raise StoreError("the Redis token store is not open")
        if (
            self._opening.done()
            and self._opening.exception() is not None
            and self._now() - self._opened_at >= REOPEN_AFTER_SECONDS
        ):
            self._opening, self._opened_at = asyncio.ensure_future(self.open()), self._now()
        await asyncio.shield(self._opening)
        assert self._redis is not None
        return self._redis

    async def close(self) -> None:
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        # Loops stop on the flag: redis-py's pubsub reader can swallow a task cancellation.
        self._closing = True
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=LISTEN_POLL_SECONDS * 4)
            for task in stuck:
                task.cancel()
        self._tasks = []
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _listen(self, pubsub: Any) -> None:
        try:
            while not self._closing:
                try:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=LISTEN_POLL_SECONDS
                    )
                    if message is not None and message.get("type") == "message":
                        await self.fetch(str(message["data"]))
                except (RedisError, OSError, StoreError) as exc:
                    log.warning("token change channel: %s", type(exc).__name__)
                    await asyncio.sleep(LISTEN_POLL_SECONDS)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _refresh_loop(self) -> None:
        elapsed = 0.0
        while not self._closing:
            await asyncio.sleep(LISTEN_POLL_SECONDS)
            elapsed += LISTEN_POLL_SECONDS
            if elapsed < self.refresh_interval:
                continue
            elapsed = 0.0
            try:
                await self._refresh_all()
            except (RedisError, OSError, StoreError) as exc:
                log.warning("token cache refresh from Redis failed: %s", type(exc).__name__)

    async def _refresh_all(self) -> None:
        client = self._redis
        assert client is not None
        ids = sorted(str(token_id) for token_id in await client.smembers(f"{self.prefix}tokens"))
        pipe = client.pipeline(transaction=False)
        for token_id in ids:
            pipe.hgetall(self._key(token_id))
        records = {}
        for fields in await pipe.execute():
            if fields:
                record = from_hash(fields)
                records[record.id] = record
        self._records = records

    async def refresh(self, token_id: str | None = None) -> None:
        """Reload the read cache now (admin list/get): a key another process just issued shows.
        With `token_id`, only that record (one HGETALL, not the whole store)."""
        if token_id is not None:
            await self.fetch(token_id)
            return
        await self._ready()
        await self._call(self._refresh_all())

    # ------------------------------------------------------------------ operations

    def _cache(self, flat: list[str] | dict[str, str]) -> TokenRecord | None:
        fields = flat if isinstance(flat, dict) else _pairs(flat)
        if not fields:
            return None
        record = from_hash(fields)
        self._records[record.id] = record
        return record

    async def fetch(self, token_id: str) -> TokenRecord | None:
        client = await self._ready()
        return self._cache(await self._call(client.hgetall(self._key(token_id))))

    async def admit(self, token_id: str, jwt_exp: int, now: float, reserve: int = 0) -> Admission:
        # Token reservations are per process (TokenState); across replicas the budget is checked
        # against counted usage only.
        await self._ready()
        keys = [self._key(token_id), f"{self.prefix}rate:{token_id}"]
        reply = await self._call(
            self._admit(keys=keys, args=[jwt_exp, repr(now), uuid.uuid4().hex, LEEWAY_SECONDS])
        )
        code = int(reply[0])
        if code == -1:
            return Admission(None)
        if code == 0:
            return Admission(self._cache(reply[1]))
        retry = float(reply[1]) if code == 5 else None
        return Admission(self._records.get(token_id) or TokenRecord(id=token_id), DENIALS[code], retry)

    async def add_tokens(self, token_id: str, input_tokens: int, output_tokens: int) -> TokenRecord | None:
        await self._ready()
        reply = await self._call(
            self._add(keys=[self._key(token_id)], args=[max(0, input_tokens), max(0, output_tokens)])
        )
        return self._cache(reply)

    async def put(self, record: TokenRecord) -> None:
        client = await self._ready()
        pipe = client.pipeline(transaction=True)
        pipe.hset(self._key(record.id), mapping=dict(to_hash(record)))  # type: ignore[arg-type]
        pipe.sadd(f"{self.prefix}tokens", record.id)
        pipe.publish(self._channel, record.id)
        await self._call(pipe.execute())
        self._records[record.id] = record

    async def _change(self, token_id: str, *pairs: str) -> TokenRecord | None:
        client = await self._ready()
        record = self._cache(await self._call(self._set(keys=[self._key(token_id)], args=list(pairs))))
        if record is not None:
            await self._call(client.publish(self._channel, token_id))
        return record

    async def revoke(self, token_id: str) -> TokenRecord | None:
        return await self._change(token_id, "revoked", "1")

    async def expire(self, token_id: str, expires_at: int) -> TokenRecord | None:
        return await self._change(token_id, "expires_at", str(expires_at))

    @staticmethod
    async def _call(operation: Any) -> Any:
        try:
            return await operation
        except (RedisError, OSError) as exc:
            raise StoreError(f"Redis token store unavailable ({type(exc).__name__})") from None
