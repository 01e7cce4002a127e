"""Crash safety with real processes: `kill -9` a store writer, and a running `serve`, then reload."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

import aiohttp
import anthropic
import pytest

from dsl.model import StoragePolicy
from gateway.tokens.filestore import FileTokenStore
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import write_credentials
from tests.support.ports import free_port

from .conftest import OAUTH_ACCESS
from .helpers import REPO, cli_env

# The documented window is one commit interval (50 ms) plus one fsync; allow generous noise for
# two shared cores (a slow fsync), while still far below "lost everything since the last snapshot".
USAGE_WINDOW_SECONDS = 1.0


async def load(data_dir: Path) -> dict[str, object]:
    store = FileTokenStore(data_dir, StoragePolicy.BOTH, compact_on_close=False)
    await store.open()
    try:
        return {record.id: record for record in store.records()}
    finally:
        await store.close()


async def test_kill_9_of_a_busy_writer_loses_no_issue_or_revoke_and_usage_only_within_the_window(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.tokens.crash_child",
        str(data_dir),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60

        def old_usage() -> int:  # usage lines already older than the window (plus slack) now
            cutoff = time.monotonic() - USAGE_WINDOW_SECONDS - 0.5
            return sum(1 for line in lines if line.startswith("used ") and float(line.split()[3]) <= cutoff)

        # Run until plenty of usage is older than the window (a slow start on a loaded machine
        # only makes the run longer) and enough issues and revocations happened.
        while old_usage() < 10 or sum(line.startswith("issued") for line in lines) < 40:
            assert time.monotonic() < deadline, "the writer made too little progress"
            raw = await asyncio.wait_for(child.stdout.readline(), timeout=30)
            assert raw, "the writer exited early"
            lines.append(raw.decode().strip())
    finally:
        child.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        lines += (await child.stdout.read()).decode().split("\n")  # printed before it died
        await child.wait()

    records = await load(data_dir)
    issued = [line.split()[1] for line in lines if line.startswith("issued ")]
    revoked = [line.split()[1] for line in lines if line.startswith("revoked ")]
    used = [
        (int(parts[2]), float(parts[3]))
        for parts in (line.split() for line in lines)
        if parts and parts[0] == "used"
    ]
    assert len(revoked) >= 10
    assert set(issued) <= set(records), "an issued token was lost"
    assert all(records[token_id].revoked for token_id in revoked), "a revocation was lost"  # type: ignore[attr-defined]
    busy = records[issued[0]]
    settled = [count for count, at in used if at <= killed_at - USAGE_WINDOW_SECONDS]
    assert len(settled) >= 10, "the writer ran too briefly for the check to mean anything"
    assert busy.used_requests >= max(settled)  # type: ignore[attr-defined]
    assert busy.used_requests <= max(count for count, _ in used) + 20  # type: ignore[attr-defined]


async def test_kill_9_of_the_real_server_after_100_concurrent_requests(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    async with FakeAnthropic() as fake:
        write_credentials(tmp_path / "claude", OAUTH_ACCESS, expires_at_ms=4_102_444_800_000)
        env = cli_env(
            data_dir,
            UPSTREAM_BASE_URL=fake.url,
            CLAUDE_CODE_HOME=str(tmp_path / "claude"),
            ROUTER_HOST="127.0.0.1",
            ROUTER_PORT=str(port),
            HOME=str(tmp_path),
        )
        log, base = tmp_path / "serve.log", f"http://127.0.0.1:{port}"
        server = await _serve(env, tmp_path, log)
        try:
            async with aiohttp.ClientSession() as http:
                await _wait_healthy(http, base, server, log)
                key, _ = await _issue(http, base, label="load", max_requests=1000)
                _, doomed = await _issue(http, base, label="to revoke")
                async with anthropic.AsyncAnthropic(base_url=base, api_key=key, max_retries=0) as client:
                    counted = await asyncio.gather(
                        *(
                            client.messages.count_tokens(
                                model="claude-test-1", messages=[{"role": "user", "content": "hi"}]
                            )
                            for _ in range(100)
                        )
                    )
                    assert all(result.input_tokens > 0 for result in counted)
                await asyncio.sleep(USAGE_WINDOW_SECONDS)  # past the usage window
                async with http.post(f"{base}/api/tokens/revoke", json={"id": doomed}) as r:
                    assert r.status == 200
        finally:
            server.send_signal(signal.SIGKILL)  # right after the revoke returned
            await server.wait()
    records = await load(data_dir)
    by_label = {record.label: record for record in records.values()}  # type: ignore[attr-defined]
    assert by_label["load"].used_requests == 100
    assert records[doomed].revoked  # type: ignore[attr-defined]


async def _serve(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli.main",
            "serve",
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=sink,
        )


async def _issue(http: aiohttp.ClientSession, base: str, **body: object) -> tuple[str, str]:
    async with http.post(f"{base}/api/tokens", json=body) as response:
        assert response.status == 200, await response.text()
        issued = await response.json()
        return issued["token"], issued["id"]


async def test_kill_9_during_100_in_flight_requests_then_restart(tmp_path: Path) -> None:
    """The issue's scenario end to end: a revocation, then 100 requests admitted and in flight (the
    upstream holds them), then `kill -9` of `serve`; a restarted `serve` on the same data dir has
    every token, keeps the revocation, and counted all 100 requests (admitted > the window ago)."""
    data_dir, port = tmp_path / "data", free_port()
    async with FakeAnthropic() as fake:
        fake.then(*[Step.slow_first_byte(30)] * 100)
        write_credentials(tmp_path / "claude", OAUTH_ACCESS, expires_at_ms=4_102_444_800_000)
        env = cli_env(
            data_dir,
            UPSTREAM_BASE_URL=fake.url,
            CLAUDE_CODE_HOME=str(tmp_path / "claude"),
            ROUTER_HOST="127.0.0.1",
            ROUTER_PORT=str(port),
            HOME=str(tmp_path),
        )
        log, base = tmp_path / "serve.log", f"http://127.0.0.1:{port}"
        server = await _serve(env, tmp_path, log)
        client = anthropic.AsyncAnthropic(base_url=base, api_key="unset", max_retries=0, timeout=60)
        in_flight: list[asyncio.Future[object]] = []
        try:
            async with aiohttp.ClientSession() as http:
                await _wait_healthy(http, base, server, log)
                key, _ = await _issue(http, base, label="load", max_requests=1000)
                doomed_key, doomed = await _issue(http, base, label="to revoke")
                async with http.post(f"{base}/api/tokens/revoke", json={"id": doomed}) as r:
                    assert r.status == 200
                # Usage last: no admin write after it that would flush it along.
                client = client.with_options(api_key=key)
                in_flight = [
                    asyncio.ensure_future(
                        client.messages.create(
                            model="claude-test-1", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
                        )
                    )
                    for _ in range(100)
                ]
                deadline = time.monotonic() + 30
                while len(fake.messages_requests()) < 100:  # each was admitted (counted) before forwarding
                    assert time.monotonic() < deadline, f"{len(fake.messages_requests())} reached upstream"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(USAGE_WINDOW_SECONDS)  # past the usage window
                assert not any(f.done() for f in in_flight)  # all 100 still waiting on the upstream
        finally:
            server.send_signal(signal.SIGKILL)
            await server.wait()
        results = await asyncio.gather(*in_flight, return_exceptions=True)
        assert all(isinstance(r, anthropic.APIConnectionError) for r in results)

        restarted = await _serve(env, tmp_path, log)
        try:
            async with aiohttp.ClientSession() as http:
                await _wait_healthy(http, base, restarted, log)
                async with http.get(f"{base}/api/tokens/list") as r:
                    by_label = {row["label"]: row for row in (await r.json())["data"]}
                assert by_label["load"]["used_requests"] == 100 and by_label["to revoke"]["revoked"]
                with pytest.raises(anthropic.PermissionDeniedError):
                    await client.with_options(api_key=doomed_key).messages.create(
                        model="claude-test-1", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
                    )
                await client.messages.create(
                    model="claude-test-1", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
                )
                async with http.get(f"{base}/api/tokens/self", headers={"x-api-key": key}) as r:
                    assert (await r.json())["used_requests"] == 101
        finally:
            await client.close()
            restarted.send_signal(signal.SIGTERM)
            await asyncio.wait_for(restarted.wait(), 30)


async def _wait_healthy(
    http: aiohttp.ClientSession, base: str, server: asyncio.subprocess.Process, log: Path
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.returncode is not None:
            raise AssertionError(f"serve exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{base}/health") as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise AssertionError("serve did not become healthy")
