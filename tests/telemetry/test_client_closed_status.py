"""499 only when the client left before the response ended.

Before: a streamed 200 sent in full, after which the client closed at once (as curl does) while the
handler was still recording usage (a Redis round trip), was counted as 499 in /v1/usage, /metrics
and the access log: 30 of 30 here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import aiohttp

from dsl.model import RedisConfig, RouterConfig, SecretRef
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import running_gateway
from tests.support.redis_server import redis_server
from tests.support.two_accounts import ACCOUNT_ENV

BODY = json.dumps(
    {"model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
).encode()


async def stream_then_close(url: str, key: str, stop_after: bytes) -> None:
    """A streamed request read until `stop_after` appears, then the connection is dropped at once."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY
    )
    seen = b""
    while stop_after not in seen:
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        assert chunk, seen[-200:]
        seen += chunk
    writer.transport.abort()


async def test_a_fully_sent_stream_counts_as_200_and_a_cut_one_as_499(
    fake: FakeAnthropic, config: RouterConfig, tmp_path: Path
) -> None:
    async with redis_server(tmp_path / "redis") as redis_url:
        with_redis = dataclasses.replace(config, redis=RedisConfig(url=SecretRef(env="REDIS_URL")))
        async with running_gateway(with_redis, {**ACCOUNT_ENV, "REDIS_URL": redis_url}) as gw:
            key = await gw.issue_key()
            for _ in range(10):
                await stream_then_close(gw.url, key, b"0\r\n\r\n")  # the chunked body's last bytes
            fake.then(Step.stall(after_events=5, seconds=5))  # past the opening frames the gateway holds
            await stream_then_close(gw.url, key, b"event: content_block_delta")  # left mid-stream
            await asyncio.sleep(0.3)
            async with aiohttp.ClientSession() as http, http.get(gw.url + "/v1/usage") as response:
                usage = await response.json()
    assert usage["status_counts"] == {"200": 10, "499": 1}
