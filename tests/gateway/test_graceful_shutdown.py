"""The real gateway process on SIGTERM: /ready fails first while the listener still accepts for the
shutdown delay, a stream that ends within the shutdown grace finishes, one that does not gets an SSE
error event; /ready apart from /health."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.gateway.test_serve_process import issue
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.ports import free_port
from tests.support.serve_process import serve_process

SECRET = "graceful-shutdown-secret-0123456789"
BODY = {"model": "claude-test-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}
DELAY, GRACE = 0.8, 3.0


async def _status(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def test_sigterm_fails_ready_first_keeps_accepting_then_finishes_or_ends_streams(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    env = {
        "TOKEN_SECRET": SECRET,
        "DATA_DIR": str(tmp_path / "data"),
        "CLAUDE_CODE_HOME": str(claude_home),
        "UPSTREAM_BASE_URL": fake.url,
        "ROUTER_SHUTDOWN_DELAY": str(DELAY),
        "ROUTER_SHUTDOWN_GRACE": str(GRACE),
    }
    # The first stream pauses 1.5 s (ends inside the grace), the second 60 s (outlives it).
    fake.then(Step.stall(after_events=4, seconds=1.5), Step.stall(after_events=4, seconds=60.0), Step.ok())
    async with serve_process(env, tmp_path) as proc, aiohttp.ClientSession() as http:
        status, text = await _status(http, proc.url + "/ready")
        assert status == 200 and '"ready": true' in text, text
        auth = {"x-api-key": await issue(http, proc.url)}
        short = await http.post(proc.url + "/v1/messages", headers=auth, json={**BODY, "stream": True})
        long = await http.post(proc.url + "/v1/messages", headers=auth, json={**BODY, "stream": True})
        short_head = await short.content.readany()
        long_head = await long.content.readany()
        assert short_head.startswith(b"event: message_start") and long_head.startswith(
            b"event: message_start"
        )
        loop = asyncio.get_running_loop()
        signalled = loop.time()
        proc.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.2)
        # Readiness fails at once; liveness does not; the listener still takes a new request.
        status, text = await _status(http, proc.url + "/ready")
        assert status == 503 and "shutting down" in text
        assert await _status(http, proc.url + "/health") == (200, "ok")
        async with (
            aiohttp.ClientSession() as fresh,
            fresh.post(proc.url + "/v1/messages", headers=auth, json=BODY) as late,
        ):
            assert late.status == 200
            assert (await late.json())["content"][0]["text"] == fake.text
        short_rest = await asyncio.wait_for(short.content.read(), 10)
        assert (short_head + short_rest).rstrip().endswith(b'data: {"type": "message_stop"}')
        assert loop.time() - signalled < GRACE
        await asyncio.sleep(max(0.0, DELAY + 0.3 - (loop.time() - signalled)))
        async with aiohttp.ClientSession() as fresh:  # past the delay the listener is closed
            with pytest.raises(aiohttp.ClientConnectionError):
                await fresh.get(proc.url + "/health")
        long_rest = await asyncio.wait_for(long.content.read(), GRACE + 10)
        ended = loop.time() - signalled
        assert GRACE - 0.5 <= ended < GRACE + 5
        tail = long_rest.decode()
        assert "event: error" in tail and "message_stop" not in tail
        assert "The gateway is shutting down" in tail
        code = await proc.stop()
    assert code == 0
    assert "Traceback" not in proc.stderr
    with contextlib.suppress(Exception):
        short.release()
        long.release()


async def test_ready_is_not_health_it_needs_a_usable_account(tmp_path: Path) -> None:
    """No account can serve (an API-key account whose key is unset): /health ok, /ready 503 saying so."""
    config = tmp_path / "router.lino"
    config.write_text("accounts:\n  main:\n    api-key-env UNSET_TEST_KEY\n")
    env = {"TOKEN_SECRET": SECRET, "DATA_DIR": str(tmp_path / "data"), "ROUTER_CONFIG": str(config)}
    async with serve_process(env, tmp_path) as proc, aiohttp.ClientSession() as http:
        assert await _status(http, proc.url + "/health") == (200, "ok")
        status, text = await _status(http, proc.url + "/ready")
        assert status == 503, text
        assert "no account can serve a request" in text
        assert await proc.stop() == 0


async def test_ready_fails_while_the_token_store_cannot_be_reached(tmp_path: Path) -> None:
    """Redis down (nothing listens on its port): the process lives (/health), but is not ready."""
    config = tmp_path / "router.lino"
    config.write_text("accounts:\n  main:\n    api-key-env TEST_KEY\nredis:\n  url-env REDIS_URL\n")
    env = {
        "TOKEN_SECRET": SECRET,
        "DATA_DIR": str(tmp_path / "data"),
        "ROUTER_CONFIG": str(config),
        "TEST_KEY": "sk-ant-test",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    async with serve_process(env, tmp_path) as proc, aiohttp.ClientSession() as http:
        assert await _status(http, proc.url + "/health") == (200, "ok")
        status, text = await _status(http, proc.url + "/ready")
        assert status == 503 and "the token store does not answer" in text, text
        assert "redis://" not in text  # never the URL
        assert await proc.stop() == 0
