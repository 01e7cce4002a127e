"""Health, the HEAD / probe, route toggles that really hide routes, and la_sk errors in the
seed's Anthropic shape."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from dsl.model import FeaturesConfig
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway


async def test_health_and_head_probe(fake: FakeAnthropic, claude_home: Path, tmp_path: Path) -> None:
    async with (
        running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(gw.url + "/health") as response:
            assert (response.status, await response.text()) == (200, "ok")
        async with http.head(gw.url + "/") as response:
            assert response.status == 200
    assert fake.requests == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
        ("POST", "/api/latest/anthropic/v1/messages"),
        ("GET", "/v1/some/other/anthropic/path"),
        ("POST", "/invoke"),
    ],
)
async def test_disabled_anthropic_api_is_a_404_everywhere(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, method: str, path: str
) -> None:
    config = gateway_config(
        fake.url, tmp_path / "d", claude_home, features=FeaturesConfig(anthropic_api=False)
    )
    async with running_gateway(config) as gw:
        key = await gw.issue_key()
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, gw.url + path, headers={"x-api-key": key}, json={"model": "m"}) as response,
        ):
            body = await response.json()
    assert response.status == 404
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    assert fake.requests == []


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses", "/v1/models"])
async def test_disabled_openai_api_is_a_404_in_openai_shape(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, path: str
) -> None:
    config = gateway_config(fake.url, tmp_path / "d", claude_home, features=FeaturesConfig(openai_api=False))
    async with running_gateway(config) as gw:
        key = await gw.issue_key()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                gw.url + path, headers={"authorization": f"Bearer {key}"}, json={"model": "gpt-4o"}
            ) as response,
        ):
            body = await response.json()
    assert response.status == 404
    assert body["error"]["code"] == "not_found" and "type" in body["error"]
    assert fake.requests == []


async def test_unknown_path_is_forwarded_with_the_real_credential(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        key = await gw.issue_key()
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                URL(gw.url + "/v1/files/file%2F01?limit=2", encoded=True), headers={"x-api-key": key}
            ) as response,
        ):
            assert response.status == 404  # the upstream's own answer, relayed
            assert (await response.json())["error"]["type"] == "not_found_error"
    seen = [(r.method, r.raw_path, r.query) for r in fake.requests]
    assert seen == [("GET", "/v1/files/file%2F01", "limit=2")]  # escapes kept


@pytest.mark.parametrize(
    ("headers", "status", "error_type"),
    [
        ({}, 401, "authentication_error"),
        ({"x-api-key": "sk-ant-api03-not-ours"}, 401, "authentication_error"),
        ({"authorization": "Bearer la_sk_garbage"}, 401, "authentication_error"),
    ],
)
async def test_bad_keys_are_refused_in_anthropic_shape(
    fake: FakeAnthropic,
    claude_home: Path,
    tmp_path: Path,
    headers: dict[str, str],
    status: int,
    error_type: str,
) -> None:
    async with (
        running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw,
        aiohttp.ClientSession() as http,
        http.post(gw.url + "/v1/messages", headers=headers, json={"model": "m"}) as response,
    ):
        body = await response.json()
    assert response.status == status
    assert body == {"type": "error", "error": {"type": error_type, "message": body["error"]["message"]}}
    assert fake.requests == []


async def test_revoked_key_is_a_403_and_budget_exhaustion_a_429(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        revoked = await gw.issue_key(label="gone")
        limited = await gw.issue_key(label="one", max_requests=1)
        tokens = gw.tokens
        gone = next(r for r in tokens.list() if r.label == "gone")  # type: ignore[attr-defined]
        await tokens.revoke(gone.id)  # type: ignore[attr-defined]
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}
        async with aiohttp.ClientSession() as http:
            async with http.post(gw.url + "/v1/messages", headers={"x-api-key": revoked}, json=body) as r:
                assert (r.status, (await r.json())["error"]["message"]) == (403, "Token has been revoked")
            statuses = []
            for _ in range(2):
                async with http.post(gw.url + "/v1/messages", headers={"x-api-key": limited}, json=body) as r:
                    statuses.append((r.status, (await r.json()).get("error", {}).get("type")))
    assert statuses == [(200, None), (429, "rate_limit_error")]
    assert len(fake.requests) == 1


async def test_oversized_body_is_a_413_in_anthropic_shape(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    import dataclasses

    config = gateway_config(fake.url, tmp_path / "d", claude_home)
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, max_body_bytes=1024))
    async with running_gateway(config) as gw:
        key = await gw.issue_key()
        async with (
            aiohttp.ClientSession() as http,
            http.post(gw.url + "/v1/messages", headers={"x-api-key": key}, data=b"x" * 4096) as response,
        ):
            body = await response.json()
    assert response.status == 413
    assert body["error"]["type"] == "request_too_large"
    assert fake.requests == []


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
async def test_body_nested_too_deep_is_a_400_on_the_openai_routes(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path, path: str
) -> None:
    body = b'{"model":"m","messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    async with running_gateway(gateway_config(fake.url, tmp_path / "d", claude_home)) as gw:
        headers = {"authorization": f"Bearer {await gw.issue_key()}", "content-type": "application/json"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(gw.url + path, data=body, headers=headers) as response,
        ):
            answer = await response.json()
    assert response.status == 400  # a gateway 500 with a traceback before
    assert answer["error"]["message"] == "the request body is not valid JSON"
    assert fake.requests == []
