"""A real Prometheus server (Debian `prometheus`) scrapes the gateway's /metrics and can query it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import pytest

from dsl.model import RouterConfig
from tests.support.gateway import running_gateway
from tests.support.ports import free_port
from tests.support.two_accounts import ACCOUNT_ENV

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="Debian prometheus not installed (see .ci/run)")


@contextlib.asynccontextmanager
async def prometheus(tmp_path: Path, target: str) -> AsyncIterator[str]:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        f"scrape_configs:\n  - job_name: gateway\n    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    assert PROMETHEUS is not None
    process = await asyncio.create_subprocess_exec(
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def poll(
    http: aiohttp.ClientSession, url: str, params: dict[str, str], ready: Any, seconds: float
) -> Any:
    """GET `url` until `ready(json)` is truthy; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(url, params=params) as response:
                if response.status == 200:
                    last = await response.json()
                    if ready(last):
                        return last
        await asyncio.sleep(0.25)
    raise AssertionError(f"{url} {params} not ready after {seconds}s; last answer: {last}")


async def test_prometheus_scrapes_the_gateway(config: RouterConfig, tmp_path: Path) -> None:
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=await gw.issue_key(), max_retries=0)
        for _ in range(3):
            await client.messages.create(
                model="claude-test-1", max_tokens=8, messages=[{"role": "user", "content": "Hi"}]
            )
        await client.close()
        target = gw.url.removeprefix("http://")
        async with prometheus(tmp_path, target) as prom, aiohttp.ClientSession() as http:
            targets = await poll(
                http,
                f"{prom}/api/v1/targets",
                {},
                lambda body: any(t["health"] == "up" for t in body["data"]["activeTargets"]),
                seconds=30,
            )
            assert targets["data"]["activeTargets"][0]["scrapeUrl"] == f"{gw.url}/metrics"
            answer = await poll(
                http,
                f"{prom}/api/v1/query",
                {"query": "link_assistant_requests_total"},
                lambda body: body["data"]["result"],
                seconds=30,
            )
            assert float(answer["data"]["result"][0]["value"][1]) == 3
            buckets = await poll(
                http,
                f"{prom}/api/v1/query",
                {"query": 'sum(gen_ai_server_request_duration_seconds_count{route="/v1/messages"})'},
                lambda body: body["data"]["result"],
                seconds=10,
            )
            assert float(buckets["data"]["result"][0]["value"][1]) == 3
