"""Config hot reload of the real gateway process: a stream opened before a reload finishes unchanged
while new requests use the new config; a ConfigMap-style `..data` link swap is picked up; an invalid
file is refused with line and column and the old config keeps serving (metric and /ready say so); a
listener change is reported as needing a restart and nothing is applied; `hot-reload off` stops the
watching but SIGHUP still reloads (with a log line)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.serve_process import ServeProcess, serve_env, serve_process

SECRET = "hot-reload-secret-0123456789abcdef"
BODY = {"model": "claude-test-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}


def config(upstream: str, *, hot_reload: str = "on", extra: str = "") -> str:
    return (
        "server:\n  port 0\n"
        f"accounts:\n  main:\n    api-key-env KEY_MAIN\n    base-url '{upstream}'\n{extra}"
        f"features:\n  hot-reload {hot_reload}\n"
    )


class ConfigMapDir:
    """A folder laid out like a mounted ConfigMap: router.lino -> ..data/router.lino, and each update
    an atomic swap of the `..data` link to a new timestamped folder (what the kubelet does)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.version = 0
        root.mkdir()
        self.file = root / "router.lino"

    def write(self, text: str) -> None:
        self.version += 1
        target = self.root / f"..2026_12_08_v{self.version}"
        target.mkdir()
        (target / "router.lino").write_text(text)
        staged = self.root / "..data_tmp"
        staged.symlink_to(target.name)
        os.replace(staged, self.root / "..data")
        if not self.file.is_symlink():
            self.file.symlink_to("..data/router.lino")


def env_for(tmp_path: Path) -> dict[str, str]:
    env = serve_env({"TOKEN_SECRET": SECRET, "DATA_DIR": str(tmp_path / "data"), "KEY_MAIN": "sk-ant-main"})
    return env


async def until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (value := check()) is None or value is False:
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def issue(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(url + "/api/tokens", json={"ttl_hours": 1, "label": "reload"}) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["token"])


async def ask(http: aiohttp.ClientSession, proc: ServeProcess, key: str) -> dict[str, Any]:
    async with http.post(proc.url + "/v1/messages", headers={"x-api-key": key}, json=BODY) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_a_stream_opened_before_a_reload_finishes_unchanged(tmp_path: Path) -> None:
    async with FakeAnthropic(text="old upstream answer") as old, FakeAnthropic(text="new upstream") as new:
        mounted = ConfigMapDir(tmp_path / "cm")
        mounted.write(config(old.url))
        old.then(Step.stall(after_events=4, seconds=1.5))
        async with (
            serve_process(env_for(tmp_path), tmp_path, args=("--config", str(mounted.file))) as proc,
            aiohttp.ClientSession() as http,
        ):
            key = await issue(http, proc.url)
            stream = await http.post(
                proc.url + "/v1/messages", headers={"x-api-key": key}, json={**BODY, "stream": True}
            )
            first = await stream.content.readany()
            assert first.startswith(b"event: message_start")

            mounted.write(config(new.url))
            async with http.post(proc.url + "/api/config/reload") as response:
                result = await response.json()
            assert response.status == 200 and result["outcome"] == "applied", result
            assert any("accounts.main.base_url" in line for line in result["changes"])

            answer = await ask(http, proc, key)  # a new request: the new config
            assert answer["content"][0]["text"] == "new upstream"
            rest = await asyncio.wait_for(stream.content.read(), 15)  # the old stream: the old config
            assert await proc.stop() == 0
        body = (first + rest).decode()
        assert body.rstrip().endswith('data: {"type": "message_stop"}')
        assert "old" in body and "new upstream" not in body
        assert len(old.messages_requests()) == 1 and len(new.messages_requests()) == 1


async def test_a_configmap_swap_is_picked_up_and_an_invalid_one_refused(tmp_path: Path) -> None:
    async with FakeAnthropic(text="first") as first, FakeAnthropic(text="second") as second:
        mounted = ConfigMapDir(tmp_path / "cm")
        mounted.write(config(first.url))
        async with (
            serve_process(env_for(tmp_path), tmp_path, args=("--config", str(mounted.file))) as proc,
            aiohttp.ClientSession() as http,
        ):
            key = await issue(http, proc.url)
            mounted.write(config(second.url))  # no signal, no request: the watch finds the swap
            await until(lambda: "config reloaded (file changed)" in proc.stderr, "the reload log line")
            assert (await ask(http, proc, key))["content"][0]["text"] == "second"

            mounted.write("server:\n  port abc\n")
            await until(lambda: "refused" in proc.stderr, "the refusal log line")
            refusal = next(line for line in proc.stderr_lines if "refused" in line)
            assert "router.lino:2:3:" in refusal and "keeping the running config" in refusal
            assert (await ask(http, proc, key))["content"][0]["text"] == "second"  # old config serves
            async with http.get(proc.url + "/ready") as response:
                ready = await response.json()
            assert response.status == 200 and ready["reload"]["last_reload_failed"] is True
            assert ":2:3:" in ready["reload"]["last_reload"]["problems"][0]
            async with http.get(proc.url + "/metrics") as response:
                metrics = await response.text()
            assert "link_assistant_config_last_reload_failed 1.0" in metrics
            assert 'link_assistant_config_reloads_total{outcome="invalid"} 1.0' in metrics

            mounted.write(config(second.url, extra="routing:\n  cooldown 2m\n"))
            await until(lambda: proc.stderr.count("config reloaded (file changed)") == 2, "recovery")
            async with http.get(proc.url + "/ready") as response:
                assert (await response.json())["reload"]["last_reload_failed"] is False


async def test_a_restart_only_change_is_reported_and_nothing_is_applied(tmp_path: Path) -> None:
    # (A listener port is tested in-process in test_reload_state.py: this process takes its port from
    # ROUTER_PORT, which outranks the file.)
    async with FakeAnthropic(text="kept") as fake, FakeAnthropic(text="never") as other:
        path = tmp_path / "router.lino"
        path.write_text(config(fake.url))
        async with (
            serve_process(env_for(tmp_path), tmp_path, args=("--config", str(path))) as proc,
            aiohttp.ClientSession() as http,
        ):
            key = await issue(http, proc.url)
            # A hot change and a restart-only one (the /metrics route is registered at start-up).
            path.write_text(
                config(other.url, extra="").replace("hot-reload on", "hot-reload on\n  metrics off")
            )
            async with http.post(proc.url + "/api/config/reload") as response:
                result = await response.json()
            assert response.status == 409 and result["outcome"] == "restart-required", (result, proc.stderr)
            assert result["restart_required"] == ["features.metrics"]
            assert (await ask(http, proc, key))["content"][0]["text"] == "kept"  # not half-applied
            assert "features.metrics need a restart" in proc.stderr


async def test_hot_reload_off_stops_watching_but_sighup_reloads(tmp_path: Path) -> None:
    async with FakeAnthropic(text="before") as before, FakeAnthropic(text="after") as after:
        path = tmp_path / "router.lino"
        path.write_text(config(before.url, hot_reload="off"))
        async with (
            serve_process(env_for(tmp_path), tmp_path, args=("--config", str(path))) as proc,
            aiohttp.ClientSession() as http,
        ):
            key = await issue(http, proc.url)
            path.write_text(config(after.url, hot_reload="off"))
            async with http.get(proc.url + "/ready") as response:
                assert (await response.json())["reload"]["watching"] is False
            await asyncio.sleep(1.3)  # longer than one poll: a watching gateway would have reloaded
            assert "config reloaded" not in proc.stderr
            assert (await ask(http, proc, key))["content"][0]["text"] == "before"
            proc.process.send_signal(signal.SIGHUP)
            await until(lambda: "config reloaded (SIGHUP)" in proc.stderr, "the SIGHUP reload")
            assert "SIGHUP: reloading the config" in proc.stderr
            assert (await ask(http, proc, key))["content"][0]["text"] == "after"
            assert await proc.stop() == 0
