"""`/api/providers` (admin) and UPSTREAM_PROVIDER=openai-compatible forwarding, over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from dsl.model import AdminConfig, OpenAICompatibleDefaults, SecretRef, UpstreamProvider
from dsl.settings import resolve
from gateway.cli.main import main
from tests.openai.conftest import config_for
from tests.openai.fake_openai import STREAM_BODY, FakeOpenAI
from tests.support.gateway import TEST_SECRET, RunningGateway, running_gateway

ADMIN = "admin-key-for-tests"
PROVIDER_KEY = "sk-provider-upstream-secret"


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def compat_gateway(fake_openai: FakeOpenAI, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    config = config_for("http://127.0.0.1:9", tmp_path)
    config = dataclasses.replace(
        config,
        upstream=dataclasses.replace(config.upstream, provider=UpstreamProvider.OPENAI_COMPATIBLE),
        admin=AdminConfig(token_secret=SecretRef(env="TOKEN_SECRET"), admin_key=SecretRef(env="ADMIN_KEY")),
        openai_compatible=OpenAICompatibleDefaults(provider_name="litellm"),
    )
    async with running_gateway(config, {"ADMIN_KEY": ADMIN}) as gw:
        yield gw


async def admin(session: aiohttp.ClientSession, method: str, url: str, **kwargs: object) -> tuple[int, dict]:
    headers = {"authorization": f"Bearer {ADMIN}"}
    async with session.request(method, url, headers=headers, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.json()


async def test_provider_crud_is_admin_only_and_never_shows_keys(compat_gateway: RunningGateway) -> None:
    base = f"{compat_gateway.url}/api/providers"
    async with aiohttp.ClientSession() as http:
        async with http.get(base) as response:
            assert response.status == 401
            assert (await response.json())["error"]["type"] == "authentication_error"
        async with http.get(base, headers={"authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        record = {"name": "litellm", "base_url": "http://x/v1", "models": ["a", "b"], "api_key": PROVIDER_KEY}
        status, body = await admin(http, "POST", base, json=record)
        assert status == 200 and body["has_encrypted_api_key"] is True and PROVIDER_KEY not in str(body)
        status, body = await admin(http, "GET", base)
        assert (
            status == 200
            and [p["name"] for p in body["data"]] == ["litellm"]
            and PROVIDER_KEY not in str(body)
        )
        status, body = await admin(http, "GET", f"{base}/litellm")
        assert status == 200 and body["models"] == ["a", "b"]
        status, body = await admin(http, "POST", base, json={"name": "bad name"})
        assert status == 400 and body["error"]["type"] == "invalid_request_error"
        for raw in (b"{not json", b"[" * 100_000):  # the second is nested too deep for any JSON parser
            status, body = await admin(http, "POST", base, data=raw)
            assert (status, body["error"]["message"]) == (400, "the request body is not valid JSON")
        status, body = await admin(http, "DELETE", f"{base}/litellm")
        assert (status, body) == (200, {"deleted": "litellm"})
        status, body = await admin(http, "GET", f"{base}/litellm")
        assert status == 404 and body["error"]["message"] == "provider not found"
    assert PROVIDER_KEY not in (compat_gateway.ctx.data_dir / "providers.lenv").read_text()


async def register(gateway: RunningGateway, fake: FakeOpenAI, **extra: object) -> None:
    async with aiohttp.ClientSession() as http:
        record = {"name": "litellm", "base_url": f"{fake.url}/v1", "api_key": PROVIDER_KEY, **extra}
        status, _ = await admin(http, "POST", f"{gateway.url}/api/providers", json=record)
        assert status == 200


async def test_forwarding_swaps_only_the_key_and_injects_the_default_model(
    compat_gateway: RunningGateway, fake_openai: FakeOpenAI
) -> None:
    await register(
        compat_gateway, fake_openai, default_model="claude-sonnet", models=["claude-sonnet", "openai/gpt-4o"]
    )
    key = await compat_gateway.issue_key(label="compat")
    async with openai.AsyncOpenAI(base_url=f"{compat_gateway.url}/v1", api_key=key, max_retries=0) as sdk:
        completion = await sdk.chat.completions.create(model="", messages=[{"role": "user", "content": "Hi"}])
        assert completion.choices[0].message.content == "Hi from upstream"
        listed = [m.id async for m in sdk.models.list()]
        retrieved = await sdk.models.retrieve("openai/gpt-4o")  # provider ids often carry a slash
    assert listed == ["claude-sonnet", "openai/gpt-4o"]
    assert (retrieved.id, retrieved.owned_by) == ("openai/gpt-4o", "litellm")
    unescaped = f"{compat_gateway.url}/v1/models/openai/gpt-4o"  # as curl sends it
    async with aiohttp.ClientSession() as http, http.get(unescaped) as response:
        assert response.status == 200 and (await response.json())["id"] == "openai/gpt-4o"
    path, headers, body = fake_openai.requests[-1]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == f"Bearer {PROVIDER_KEY}"
    assert key not in str(headers)
    assert body == {"model": "claude-sonnet", "messages": [{"role": "user", "content": "Hi"}]}


async def test_streams_pass_through_byte_for_byte(
    compat_gateway: RunningGateway, fake_openai: FakeOpenAI
) -> None:
    await register(compat_gateway, fake_openai)
    key = await compat_gateway.issue_key(label="compat")
    chat = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    responses = {"model": "m", "input": "Hi", "stream": True}
    async with aiohttp.ClientSession() as http:
        for path, payload in (("/v1/chat/completions", chat), ("/v1/responses", responses)):
            async with http.post(compat_gateway.url + path, json=payload, headers={"x-api-key": key}) as r:
                assert r.status == 200
                assert r.headers["content-type"].startswith("text/event-stream")
                assert await r.read() == STREAM_BODY
    assert [(path, body) for path, _, body in fake_openai.requests] == [
        ("/v1/chat/completions", chat),
        ("/v1/responses", responses),
    ]


async def test_provider_errors_reach_the_client_and_unreachable_is_502(
    compat_gateway: RunningGateway, fake_openai: FakeOpenAI
) -> None:
    await register(compat_gateway, fake_openai)
    key = await compat_gateway.issue_key(label="compat")
    fake_openai.status = 422
    async with openai.AsyncOpenAI(base_url=f"{compat_gateway.url}/v1", api_key=key, max_retries=0) as sdk:
        with pytest.raises(openai.UnprocessableEntityError) as caught:
            await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
        assert caught.value.body["message"] == "upstream says no"  # type: ignore[index]
        await register(compat_gateway, FakeOpenAI(url="http://127.0.0.1:9"))
        with pytest.raises(openai.APIStatusError) as failed:
            await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert failed.value.status_code == 502
    assert failed.value.body["type"] == "api_error"  # type: ignore[index]
    assert PROVIDER_KEY not in str(failed.value.body)


async def test_provider_usage_is_charged_to_the_key(
    compat_gateway: RunningGateway, fake_openai: FakeOpenAI
) -> None:
    await register(compat_gateway, fake_openai)
    tokens: Any = compat_gateway.tokens
    issued = await tokens.issue(label="budget", max_tokens=100)
    async with openai.AsyncOpenAI(
        base_url=f"{compat_gateway.url}/v1", api_key=issued.token, max_retries=0
    ) as sdk:
        await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    record = tokens.get(issued.record.id)
    assert (record.used_requests, record.used_input_tokens, record.used_output_tokens) == (1, 3, 4)


async def test_providers_added_with_the_cli_apply_to_a_running_gateway(
    compat_gateway: RunningGateway, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.setenv("DATA_DIR", str(compat_gateway.ctx.data_dir))
    argv = [
        "providers",
        "add",
        "--name",
        "litellm",
        "--base-url",
        f"{fake_openai.url}/v1",
        "--api-key",
        PROVIDER_KEY,
    ]
    assert await asyncio.to_thread(main, argv) == 0
    key = await compat_gateway.issue_key(label="cli")
    async with openai.AsyncOpenAI(base_url=f"{compat_gateway.url}/v1", api_key=key, max_retries=0) as sdk:
        completion = await sdk.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}]
        )
    assert completion.choices[0].message.content == "Hi from upstream"
    assert fake_openai.requests[-1][1]["Authorization"] == f"Bearer {PROVIDER_KEY}"


async def test_a_provider_quoting_our_key_back_never_shows_it(
    compat_gateway: RunningGateway, fake_openai: FakeOpenAI
) -> None:
    await register(compat_gateway, fake_openai)
    fake_openai.status, fake_openai.error_message = 401, f"Incorrect API key provided: {PROVIDER_KEY}"
    key = await compat_gateway.issue_key(label="leak")
    async with openai.AsyncOpenAI(base_url=f"{compat_gateway.url}/v1", api_key=key, max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError) as caught:
            await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.body["message"] == "Incorrect API key provided: <redacted>"  # type: ignore[index]
    assert PROVIDER_KEY not in caught.value.response.text


async def test_shutdown_lets_a_provider_stream_finish_within_the_grace_period(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    config = config_for("http://127.0.0.1:9", tmp_path)
    config = dataclasses.replace(
        config,
        upstream=dataclasses.replace(config.upstream, provider=UpstreamProvider.OPENAI_COMPATIBLE),
        openai_compatible=OpenAICompatibleDefaults(provider_name="boot", base_url=f"{fake_openai.url}/v1"),
    )
    fake_openai.pause = 3.0  # past the test server's own cut-off (1 s, rounded up)
    payload = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    async with aiohttp.ClientSession() as http:
        async with running_gateway(config) as gw:
            gw.ctx.shutdown_grace = 8.0
            key = await gw.issue_key(label="grace")
            response = await http.post(
                f"{gw.url}/v1/chat/completions", json=payload, headers={"x-api-key": key}
            )
            reader = asyncio.create_task(response.read())
            await asyncio.sleep(0.3)
        assert await asyncio.wait_for(reader, 10) == STREAM_BODY


async def test_the_seeds_environment_alone_configures_the_provider(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    env = {
        "UPSTREAM_PROVIDER": "litellm",  # a seed alias of openai-compatible
        "OPENAI_COMPATIBLE_BASE_URL": f"{fake_openai.url}/v1",
        "OPENAI_COMPATIBLE_API_KEY_ENV": "LITELLM_MASTER_KEY",
        "LITELLM_MASTER_KEY": PROVIDER_KEY,
        "OPENAI_COMPATIBLE_MODEL": "claude-sonnet",
        "OPENAI_COMPATIBLE_MODELS": "claude-sonnet,gpt-4o",
        "DATA_DIR": str(tmp_path),
        "ADMIN_GRPC_PORT": "off",
        "TOKEN_SECRET": TEST_SECRET,
    }
    config = resolve({}, env).config
    assert config.upstream.provider is UpstreamProvider.OPENAI_COMPATIBLE
    async with running_gateway(config, env) as gw:
        key = await gw.issue_key(label="env")
        async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
            completion = await sdk.chat.completions.create(
                model="", messages=[{"role": "user", "content": "Hi"}]
            )
            listed = [(m.id, m.owned_by) async for m in sdk.models.list()]
    assert completion.choices[0].message.content == "Hi from upstream"
    assert listed == [("claude-sonnet", "litellm"), ("gpt-4o", "litellm")]
    path, headers, body = fake_openai.requests[-1]
    assert path == "/v1/chat/completions" and headers["Authorization"] == f"Bearer {PROVIDER_KEY}"
    assert body["model"] == "claude-sonnet"


async def test_a_damaged_provider_store_is_a_server_error_naming_the_file(
    compat_gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = compat_gateway.ctx.data_dir / "providers.lenv"
    store.write_text('PROVIDER: {"name":"litellm","base_url":"http://x/v1"}\nPROVIDER: {broken\n')
    key = await compat_gateway.issue_key(label="damaged")
    async with openai.AsyncOpenAI(base_url=f"{compat_gateway.url}/v1", api_key=key, max_retries=0) as sdk:
        with pytest.raises(openai.InternalServerError) as caught:
            await sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 500
    assert caught.value.body["message"] == "provider store providers.lenv is damaged: line 2: not valid JSON"  # type: ignore[index]
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.setenv("DATA_DIR", str(compat_gateway.ctx.data_dir))
    assert await asyncio.to_thread(main, ["providers", "list"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: provider store providers.lenv is damaged: line 2: not valid JSON"
    )


async def test_a_client_leaving_a_provider_stream_is_charged_for_the_usage_seen(
    compat_gateway: RunningGateway, fake_openai: FakeOpenAI
) -> None:
    await register(compat_gateway, fake_openai)
    fake_openai.pause = 30.0  # the usage chunk has been relayed, `[DONE]` never comes
    tokens: Any = compat_gateway.tokens
    issued = await tokens.issue(label="leaver", max_tokens=100)
    payload = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    async with aiohttp.ClientSession() as http:
        url = f"{compat_gateway.url}/v1/chat/completions"
        response = await http.post(url, json=payload, headers={"x-api-key": issued.token})
        seen = b""
        for _ in range(50):  # bounded: the three chunks before the pause
            seen += await response.content.readany()
            if b'"usage"' in seen:
                break
        response.close()  # the client hangs up before the stream ends
    record = tokens.get(issued.record.id)
    for _ in range(200):  # bounded: at most 10 s on a busy machine
        record = tokens.get(issued.record.id)
        if record.used_input_tokens:
            break
        await asyncio.sleep(0.05)
    assert (record.used_input_tokens, record.used_output_tokens) == (3, 4)
