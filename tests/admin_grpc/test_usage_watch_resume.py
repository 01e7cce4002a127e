"""WatchUsage for real dashboards: a watcher whose connection drops resumes from its last sequence
without missing events (a real TCP relay is cut under it), and a watcher that stops reading never
slows the proxy: the feed is a bounded ring, and what it loses is counted and reported to it."""

from __future__ import annotations

import asyncio
import contextlib
import time

import anthropic

from dsl.model import RouterConfig
from gateway.telemetry.metrics import METRICS
from gateway.telemetry.usage import UsageEvent, UsageFeed
from link_assistant_router_admin import AdminClient
from link_assistant_router_admin.v1 import usage_pb2, usage_pb2_grpc
from tests.support.admin_grpc import grpc_gateway, grpc_target
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.two_accounts import ACCOUNT_ENV


class Relay:
    """A TCP relay on 127.0.0.1 that can be cut: open connections are dropped and new ones refused."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.refusing = False
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def cut(self) -> None:
        self.refusing = True
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


async def ask(client: anthropic.AsyncAnthropic) -> None:
    await client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "Hi"}])


async def wait_for_count(events: list[usage_pb2.UsageEvent], count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while len(events) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(events) >= count, [e.sequence for e in events]


async def test_a_watcher_resumes_after_a_disconnect_without_missing_events(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, _channel):
        relay = Relay(int(grpc_target(gw).rsplit(":", 1)[1]))
        await relay.start()
        events: list[usage_pb2.UsageEvent] = []
        admin = AdminClient.connect(f"127.0.0.1:{relay.port}", plaintext=True)

        async def watch() -> None:
            async for event in admin.watch_usage(retry_delay=0.05):
                events.append(event)

        watcher = asyncio.create_task(watch())
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        try:
            while not gw.app[METRICS].feed.watching:
                await asyncio.sleep(0.01)
            for _ in range(3):
                await ask(client)
            await wait_for_count(events, 3)
            relay.cut()  # the dashboard's connection drops; requests go on meanwhile
            for _ in range(4):
                await ask(client)
            assert len(events) == 3
            relay.refusing = False
            for _ in range(2):
                await ask(client)
            await wait_for_count(events, 9)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await client.close()
            await admin.close()
            await relay.close()
    assert [e.sequence for e in events] == list(range(1, 10))
    assert all(e.dropped == 0 for e in events) and all(e.route == "/v1/messages" for e in events)


async def test_a_watcher_that_stops_reading_never_slows_the_proxy(
    config: RouterConfig, fake: FakeAnthropic
) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        gw.app[METRICS].feed = UsageFeed(keep=16)
        stalled = usage_pb2_grpc.UsageServiceStub(channel).WatchUsage(usage_pb2.WatchUsageRequest())
        while not gw.app[METRICS].feed.watching:
            await asyncio.sleep(0.01)
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        started = time.process_time()
        await asyncio.wait_for(asyncio.gather(*(ask(client) for _ in range(120))), 60)
        assert time.process_time() - started < 30
        await client.close()
        received, lost = 0, 0
        async for event in stalled:
            received, lost = received + 1, lost + event.dropped
            if event.sequence == 120:
                break
        stalled.cancel()
    assert received + lost == 120  # every event either delivered or counted as lost to this watcher


async def test_the_feed_counts_what_a_stalled_watcher_lost_and_resumes_by_sequence() -> None:
    feed = UsageFeed(keep=8)
    event = UsageEvent(0.0, "r", "/v1/messages", 200, "a", "m", 0.1)
    stalled = feed.watch()
    first = asyncio.ensure_future(anext(stalled))
    await asyncio.sleep(0)
    for _ in range(100):
        feed.publish(event)  # never waits for the watcher
    sequence, _, lost = await first  # it woke only after 100 events: the ring kept the last 8
    assert (sequence, lost) == (93, 92) and feed.dropped_total == 92
    assert (await anext(stalled))[::2] == (94, 0)
    await stalled.aclose()
    resumed = feed.watch(after=97)
    assert [(await anext(resumed))[0] for _ in range(3)] == [98, 99, 100]
    await resumed.aclose()
    restarted = feed.watch(after=10_000)  # a sequence from before a restart: replay what is kept
    assert (await anext(restarted))[:3:2] == (93, 92)
    await restarted.aclose()
