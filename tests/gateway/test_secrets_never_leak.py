"""Secrets never leak: with logging at DEBUG, every log line (in-process caplog and the serve process's
stderr) and every response body and header is searched for the OAuth access and refresh tokens (old
and rotated), the API key and TOKEN_SECRET."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import aiohttp
import pytest

from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import TEST_SECRET, gateway_config, running_gateway, write_credentials
from tests.support.serve_process import serve_process

ACCESS = "sk-ant-oat01-LEAKCHECK-ACCESS-7f3a"
REFRESH = "sk-ant-ort01-LEAKCHECK-REFRESH-9c1d"
PROC_SECRET = "proc-token-secret-LEAKCHECK-5e2b"
BODY = {"model": "claude-test-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}


def forbidden(fake: FakeAnthropic, *extra: str) -> list[str]:
    """Every secret the scenario created, including the pairs the refresh rotated in."""
    rotated = [
        r.json().get(k, "") for r in fake.requests if r.path == "/v1/oauth/token" for k in ("refresh_token",)
    ]
    issued = [f"sk-ant-oat01-leak-rotated-{n}" for n in range(1, 5)]
    issued += [f"sk-ant-ort01-leak-rotated-{n}" for n in range(1, 5)]
    return [s for s in [ACCESS, REFRESH, *rotated, *issued, *extra] if s]


async def scenarios(url: str, key: str, fake: FakeAnthropic) -> list[str]:
    """Success, stream, refresh on 401, 429, stream cut, bad and missing keys, admin calls."""
    seen: list[str] = []
    fake.then(Step.unauthorized(), Step.ok(), Step.rate_limited(2), Step.cut_stream(4))
    requests: list[tuple[str, str, dict[str, str], dict[str, object]]] = [
        ("POST", "/v1/messages", {"x-api-key": key}, BODY),  # 401 -> refresh -> retry
        ("POST", "/v1/messages", {"authorization": f"Bearer {key}"}, {**BODY, "stream": True}),
        ("POST", "/v1/messages", {"x-api-key": key}, BODY),  # 429 relayed
        ("POST", "/v1/messages", {"x-api-key": key}, {**BODY, "stream": True}),  # cut mid-way
        ("POST", "/v1/messages/count_tokens?beta=true", {"x-api-key": key}, BODY),
        ("POST", "/v1/messages", {"x-api-key": "la_sk_forged.bad.sig"}, BODY),
        ("POST", "/v1/messages", {}, BODY),
        ("GET", "/api/tokens/list", {}, {}),
        ("GET", "/v1/accounts", {}, {}),
        ("GET", "/metrics", {}, {}),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, headers, body in requests:
            async with http.request(method, url + path, headers=headers, json=body or None) as response:
                try:
                    payload = await response.read()
                except aiohttp.ClientPayloadError:
                    payload = b""
                text = payload.decode("utf-8", "replace")
                seen.append(f"{response.status} {json.dumps(dict(response.headers))} {text}")
    return seen


def assert_clean(texts: list[str], secrets: list[str]) -> None:
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob, f"a secret leaked: {secret[:14]}…"


async def test_in_process_logs_and_responses_hold_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "claude"
    write_credentials(home, ACCESS, REFRESH, expires_at_ms=int((time.time() + 3600) * 1000))
    async with FakeAnthropic() as fake:
        fake.grant_refresh(REFRESH, "leak")
        async with running_gateway(gateway_config(fake.url, tmp_path / "data", home)) as gw:
            key = await gw.issue_key(label="leak")
            responses = await scenarios(gw.url, key, fake)
    assert fake.oauth.calls == 1  # the refresh really happened, so rotated secrets existed
    assert any(r.startswith("200") for r in responses) and any(r.startswith("429") for r in responses)
    logs = [caplog.text, *(r.getMessage() for r in caplog.records)]
    assert len(caplog.records) > 5
    assert_clean(responses + logs, forbidden(fake, TEST_SECRET, key))


async def test_serve_process_stderr_at_debug_holds_no_secret(tmp_path: Path) -> None:
    home = tmp_path / "claude"
    write_credentials(home, ACCESS, REFRESH, expires_at_ms=int((time.time() + 3600) * 1000))
    async with FakeAnthropic() as fake:
        fake.grant_refresh(REFRESH, "leak")
        env = {
            "TOKEN_SECRET": PROC_SECRET,
            "DATA_DIR": str(tmp_path / "data"),
            "CLAUDE_CODE_HOME": str(home),
            "UPSTREAM_BASE_URL": fake.url,
            "CLAUDE_OAUTH_TOKEN_URL": f"{fake.url}/v1/oauth/token",
            "VERBOSE": "true",
            "RUST_LOG": "debug",
        }
        async with serve_process(env, tmp_path) as proc:
            async with (
                aiohttp.ClientSession() as http,
                http.post(proc.url + "/api/tokens", json={"label": "p"}) as r,
            ):
                key = (await r.json())["token"]
            responses = await scenarios(proc.url, key, fake)
        assert await proc.stop() == 0
    assert fake.oauth.calls == 1
    assert any(" DEBUG " in line for line in proc.stderr_lines)
    assert_clean(responses + proc.stderr_lines, forbidden(fake, PROC_SECRET, key))
