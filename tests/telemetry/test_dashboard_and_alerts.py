"""The shipped alerts and dashboard: `promtool check rules` and `promtool test rules` (a unit test per
alert), the chart renders them, and every dashboard query returns data from a real Prometheus that
scraped a gateway under traffic."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from pathlib import Path

import aiohttp
import anthropic
import pytest
import yaml

from dsl.model import RouterConfig
from tests.controller.test_charts import GATEWAY_CHART, documents, helm
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import running_gateway
from tests.support.two_accounts import ACCOUNT_ENV
from tests.telemetry.test_prometheus_scrape import poll, prometheus

PROMTOOL = shutil.which("promtool")
ALERTS = GATEWAY_CHART / "files" / "alerts.yaml"
DASHBOARD = GATEWAY_CHART / "files" / "dashboard.json"
ALERT_TESTS = Path(__file__).parent / "promtool" / "alerts_test.yaml"
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="Debian prometheus not installed (see .ci/run)")
MODEL = "claude-test-1"


def promtool(*args: str) -> str:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


@needs_promtool
def test_alert_rules_are_valid_and_each_alert_has_a_unit_test() -> None:
    assert "SUCCESS: 5 rules found" in promtool("check", "rules", str(ALERTS))
    assert "SUCCESS" in promtool("test", "rules", str(ALERT_TESTS))
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"]}
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert tested == alerts  # every alert is seen firing in some test


def test_chart_ships_the_rules_and_the_dashboard() -> None:
    rendered = documents(
        helm(
            "template",
            "router",
            str(GATEWAY_CHART),
            "--set",
            "prometheusRule.enabled=true",
            "--set",
            "grafanaDashboard.enabled=true",
        )
    )
    [rule] = [d for d in rendered if d["kind"] == "PrometheusRule"]
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())
    [board] = [d for d in rendered if d["metadata"]["name"].endswith("-dashboard")]
    assert board["kind"] == "ConfigMap"
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["data"]["link-assistant-router.json"]) == json.loads(DASHBOARD.read_text())
    plain = documents(helm("template", "router", str(GATEWAY_CHART)))
    kinds = {d["kind"] for d in plain}
    assert "PrometheusRule" not in kinds
    assert not [d for d in plain if d["metadata"]["name"].endswith("-dashboard")]


async def keep_busy(url: str, key: str, fake: FakeAnthropic, stop: asyncio.Event) -> None:
    """Plain and streamed requests (and a 429 failover now and then) until `stop` is set."""
    client = anthropic.AsyncAnthropic(base_url=url, api_key=key, max_retries=0)
    messages = [{"role": "user", "content": "Hi"}]
    try:
        for turn in range(10_000):
            if stop.is_set():
                break
            if turn % 5 == 0:
                fake.then(Step.rate_limited(retry_after=1))
            await client.messages.create(model=MODEL, max_tokens=8, messages=messages)  # type: ignore[arg-type]
            async with client.messages.stream(model=MODEL, max_tokens=8, messages=messages) as stream:  # type: ignore[arg-type]
                await stream.get_final_message()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        await client.close()


@needs_promtool
async def test_every_dashboard_query_returns_data(
    config: RouterConfig, fake: FakeAnthropic, tmp_path: Path
) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 15
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        key = await gw.issue_key(max_requests=10_000, max_tokens=10_000_000)
        stop = asyncio.Event()
        busy = asyncio.create_task(keep_busy(gw.url, key, fake, stop))
        try:
            target = gw.url.removeprefix("http://")
            async with prometheus(tmp_path, target) as prom, aiohttp.ClientSession() as http:
                for query in queries:
                    # Grafana's $__rate_interval is at least four scrape intervals; scrapes here are 1 s.
                    expr = query.replace("$__rate_interval", "10s")
                    await poll(
                        http,
                        f"{prom}/api/v1/query",
                        {"query": expr},
                        lambda body: body["status"] == "success" and body["data"]["result"],
                        seconds=30,
                    )
        finally:
            stop.set()
            await busy
