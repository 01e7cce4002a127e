"""`UPSTREAM_API_FORMAT` / `--api-format` keeps one Anthropic-model surface; the others answer 404.

The OpenAI surface, admin and health routes are not Anthropic-model surfaces and stay.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import aiohttp
import pytest

from dsl.model import ApiFormat, RouterConfig
from dsl.settings import resolve
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import running_gateway
from tests.support.two_accounts import ACCOUNT_ENV

VERTEX = "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5"
MESSAGES_BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 5,
    "messages": [{"role": "user", "content": "Hi"}],
}
BEDROCK_BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 5,
    "messages": MESSAGES_BODY["messages"],
}
VERTEX_BODY = {
    "anthropic_version": "vertex-2023-10-16",
    "max_tokens": 5,
    "messages": MESSAGES_BODY["messages"],
}

# (surface, method, path, body)
PROBES: list[tuple[ApiFormat | None, str, str, object]] = [
    (ApiFormat.ANTHROPIC, "POST", "/v1/messages", MESSAGES_BODY),
    (ApiFormat.ANTHROPIC, "POST", "/v1/messages/count_tokens", MESSAGES_BODY),
    (ApiFormat.ANTHROPIC, "POST", "/api/latest/anthropic/v1/messages", MESSAGES_BODY),
    (ApiFormat.BEDROCK, "POST", "/model/claude-sonnet-4-5/invoke", BEDROCK_BODY),
    (ApiFormat.BEDROCK, "POST", "/model/claude-sonnet-4-5/invoke-with-response-stream", BEDROCK_BODY),
    (ApiFormat.BEDROCK, "POST", "/invoke", {**BEDROCK_BODY, "model": "claude-sonnet-4-5"}),
    (
        ApiFormat.BEDROCK,
        "POST",
        "/api/services/bedrock/invoke",
        {**BEDROCK_BODY, "model": "claude-sonnet-4-5"},
    ),
    (ApiFormat.BEDROCK, "GET", "/foundation-models", None),
    (ApiFormat.VERTEX, "POST", f"/api/services/vertex{VERTEX}:rawPredict", VERTEX_BODY),
    (ApiFormat.VERTEX, "POST", f"{VERTEX}:rawPredict", VERTEX_BODY),
    (ApiFormat.VERTEX, "POST", f"{VERTEX}:streamRawPredict", VERTEX_BODY),
    (
        None,
        "POST",
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
    ),
    (None, "GET", "/health", None),
]


CATCH_ALL = "/v1/complete"  # forwarded as written by the catch-all: a Messages-format path


async def probe_all(config: RouterConfig) -> dict[str, int]:
    statuses: dict[str, int] = {}
    async with running_gateway(config, ACCOUNT_ENV) as gw:
        headers = {"x-api-key": await gw.issue_key(), "content-type": "application/json"}
        async with aiohttp.ClientSession() as http:
            for _, method, path, body in [*PROBES, (None, "POST", CATCH_ALL, MESSAGES_BODY)]:
                data = json.dumps(body).encode() if body is not None else None
                async with http.request(method, gw.url + path, data=data, headers=headers) as response:
                    await response.read()
                    statuses[path] = response.status
    return statuses


@pytest.mark.parametrize("api_format", [None, ApiFormat.ANTHROPIC, ApiFormat.BEDROCK, ApiFormat.VERTEX])
async def test_api_format_keeps_one_surface(
    fake: FakeAnthropic, config: RouterConfig, api_format: ApiFormat | None
) -> None:
    config = dataclasses.replace(config, upstream=dataclasses.replace(config.upstream, api_format=api_format))
    statuses = await probe_all(config)
    for surface, _, path, _ in PROBES:
        served = surface is None or api_format is None or surface is api_format
        assert (statuses[path] == 200) is served, (api_format, path, statuses[path])
        if not served:
            assert statuses[path] == 404
    forwarded = [r.path for r in fake.requests if r.path == CATCH_ALL]
    assert bool(forwarded) is (api_format in (None, ApiFormat.ANTHROPIC))


async def test_the_environment_variable_and_its_seed_synonyms_act(
    fake: FakeAnthropic, config: RouterConfig, tmp_path: Path
) -> None:
    resolved = resolve({}, {"UPSTREAM_API_FORMAT": "rawpredict"}, config=config).config
    assert resolved.upstream.api_format is ApiFormat.VERTEX
    statuses = await probe_all(resolved)
    assert statuses[f"{VERTEX}:rawPredict"] == 200
    assert statuses["/v1/messages"] == statuses["/model/claude-sonnet-4-5/invoke"] == 404
