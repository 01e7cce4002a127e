"""UPSTREAM_PROVIDER=gonka: the `openai` SDK through the gateway to a stand-in Gonka node that checks
every signature with the requester's public key, streamed and not, with usage charged."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from dsl.model import GonkaConfig, MppConfig, SecretRef, UpstreamProvider
from gateway.gonka.signing import signer_from_hex
from gateway.mpp.challenge import b64url, parse_auth_params
from gateway.mpp.gate import TEST_SECRET_ENV
from gateway.mpp.verifiers import hmac_test_proof
from tests.openai.conftest import config_for
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.gonka_node import ANSWER, GonkaNode

KEY = "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"
NODE_KEY = "00" * 31 + "02"
MESSAGES: Any = [{"role": "user", "content": "Hello"}]


def node_for(*requester_keys: str) -> GonkaNode:
    accounts = {s.address: s.public_key for s in map(signer_from_hex, requester_keys)}
    return GonkaNode(address=signer_from_hex(NODE_KEY).address, accounts=accounts)


@pytest.fixture
async def node() -> AsyncIterator[GonkaNode]:
    async with node_for(KEY) as stand_in:
        yield stand_in


def gonka_config(tmp_path: Path, source_url: str, endpoints: str | None = None) -> Any:
    base = config_for("http://127.0.0.1:9", tmp_path)
    return dataclasses.replace(
        base,
        upstream=dataclasses.replace(base.upstream, provider=UpstreamProvider.GONKA),
        gonka=GonkaConfig(
            private_key=SecretRef(env="GONKA_PRIVATE_KEY"),
            source_url=source_url,
            model="gonka-default-model",
            endpoints=endpoints,
        ),
    )


@pytest.fixture
async def gateway(node: GonkaNode, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    async with running_gateway(gonka_config(tmp_path, node.url), {"GONKA_PRIVATE_KEY": KEY}) as gw:
        yield gw


async def sdk_for(gw: RunningGateway, **issue: Any) -> tuple[openai.AsyncOpenAI, Any]:
    tokens: Any = gw.tokens
    issued = await tokens.issue(label="gonka", **issue)
    return openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=issued.token, max_retries=0), issued


async def test_chat_through_the_gateway_is_signed_and_charged(
    gateway: RunningGateway, node: GonkaNode
) -> None:
    sdk, issued = await sdk_for(gateway)
    async with sdk:
        answer = await sdk.chat.completions.create(model="Qwen/Qwen3", messages=MESSAGES)
        streamed = await sdk.chat.completions.create(
            messages=MESSAGES, model="", stream=True, stream_options={"include_usage": True}
        )
        text = "".join([c.choices[0].delta.content or "" async for c in streamed if c.choices])
    assert answer.choices[0].message.content == ANSWER and text == ANSWER
    assert [s.status for s in node.seen] == [200, 200]
    first, second = node.seen
    assert first.path == "/v1/chat/completions"
    assert first.headers["X-Requester-Address"] == signer_from_hex(KEY).address
    assert "Bearer" not in first.headers["Authorization"] and len(first.headers["X-Timestamp"]) >= 19
    assert json.loads(first.body)["model"] == "Qwen/Qwen3"
    assert json.loads(second.body)["model"] == "gonka-default-model"  # GONKA_MODEL when none is named
    assert first.headers["Authorization"] != second.headers["Authorization"]
    record = gateway.tokens.get(issued.record.id)
    assert (record.used_requests, record.used_input_tokens, record.used_output_tokens) == (2, 22, 10)


async def test_a_stream_without_include_usage_is_still_charged_and_shows_no_usage_chunk(
    gateway: RunningGateway, node: GonkaNode
) -> None:
    sdk, issued = await sdk_for(gateway)
    async with sdk:
        chunks = [
            c async for c in await sdk.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        ]
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER
    assert json.loads(node.seen[0].body)["stream_options"] == {"include_usage": True}
    record = gateway.tokens.get(issued.record.id)
    assert (record.used_input_tokens, record.used_output_tokens) == (11, 5)


async def test_responses_streamed_and_not(gateway: RunningGateway, node: GonkaNode) -> None:
    sdk, issued = await sdk_for(gateway)
    async with sdk:
        answer = await sdk.responses.create(model="m", input="Hello")
        events = [e async for e in await sdk.responses.create(model="m", input="Hello", stream=True)]
    assert answer.output_text == ANSWER and answer.usage is not None and answer.usage.output_tokens == 6
    assert [e.type for e in events][-1] == "response.completed"
    assert [(s.path, s.status) for s in node.seen] == [("/v1/responses", 200)] * 2
    record = gateway.tokens.get(issued.record.id)
    assert (record.used_input_tokens, record.used_output_tokens) == (26, 12)


async def test_models_lists_the_gonka_model(gateway: RunningGateway) -> None:
    sdk, _ = await sdk_for(gateway)
    async with sdk:
        listed = await sdk.models.list()
    assert [(m.id, m.owned_by) for m in listed.data] == [("gonka-default-model", "gonka")]


async def test_the_node_refuses_a_key_it_does_not_know_and_the_client_sees_why(tmp_path: Path) -> None:
    impostor = "11" * 32
    async with node_for(KEY) as stand_in:
        # The node knows the impostor's address, but with the real requester's public key: the
        # signature cannot verify, exactly as when a key does not match its on-chain record.
        stand_in.accounts[signer_from_hex(impostor).address] = signer_from_hex(KEY).public_key
        config = gonka_config(tmp_path, stand_in.url)
        async with running_gateway(config, {"GONKA_PRIVATE_KEY": impostor}) as gw:
            sdk, _ = await sdk_for(gw)
            async with sdk:
                with pytest.raises(openai.AuthenticationError) as caught:
                    await sdk.chat.completions.create(model="m", messages=MESSAGES)
    assert "Unable to validate request against PubKey" in caught.value.message
    assert [s.status for s in stand_in.seen] == [401]
    assert impostor not in str(caught.value.body)


async def test_listed_endpoints_skip_discovery_and_sign_for_their_address(tmp_path: Path) -> None:
    async with node_for(KEY) as stand_in:
        # The source URL is dead: only the listed endpoint can answer.
        config = gonka_config(tmp_path, "http://127.0.0.1:9", endpoints=f"{stand_in.url};{stand_in.address}")
        async with running_gateway(config, {"GONKA_PRIVATE_KEY": KEY}) as gw:
            sdk, _ = await sdk_for(gw)
            async with sdk:
                answer = await sdk.chat.completions.create(model="m", messages=MESSAGES)
    assert answer.choices[0].message.content == ANSWER and [s.status for s in stand_in.seen] == [200]


async def test_discovery_that_finds_no_allowed_participant_is_a_clear_502(tmp_path: Path) -> None:
    async with node_for(KEY) as stand_in:
        stand_in.allowed = [signer_from_hex("33" * 32).address]  # the chain allows another agent only
        async with running_gateway(gonka_config(tmp_path, stand_in.url), {"GONKA_PRIVATE_KEY": KEY}) as gw:
            sdk, _ = await sdk_for(gw)
            async with sdk:
                with pytest.raises(openai.APIStatusError) as caught:
                    await sdk.chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.status_code == 502 and "transfer agent" in caught.value.message
    assert stand_in.seen == []


async def test_the_la_sk_key_is_still_required(gateway: RunningGateway, node: GonkaNode) -> None:
    url = f"{gateway.url}/v1/chat/completions"
    async with aiohttp.ClientSession() as http, http.post(url, json={"messages": MESSAGES}) as r:
        assert r.status == 401 and (await r.json())["error"]["type"] == "authentication_error"
    assert node.seen == []


async def test_mpp_gates_the_gonka_route_too(node: GonkaNode, tmp_path: Path) -> None:
    config = dataclasses.replace(
        gonka_config(tmp_path, node.url), mpp=MppConfig(enabled=True, amount="3", recipient="acct")
    )
    env = {"GONKA_PRIVATE_KEY": KEY, TEST_SECRET_ENV: "payer-secret"}
    async with running_gateway(config, env) as gw, aiohttp.ClientSession() as http:
        key = await gw.issue_key(label="payer")
        url, headers = f"{gw.url}/v1/chat/completions", {"x-api-key": key}
        async with http.post(url, json={"messages": MESSAGES}, headers=headers) as refused:
            assert refused.status == 402 and node.seen == []
            params = parse_auth_params(refused.headers["WWW-Authenticate"].removeprefix("Payment "))
        proof = hmac_test_proof(b"payer-secret", params["id"])
        credential = b64url(json.dumps({"challenge": params, "payload": {"proof": proof}}).encode())
        paid_headers = {**headers, "Authorization": f"Payment {credential}"}
        async with http.post(url, json={"messages": MESSAGES}, headers=paid_headers) as paid:
            assert paid.status == 200 and "Payment-Receipt" in paid.headers
            assert (await paid.json())["choices"][0]["message"]["content"] == ANSWER
    assert [s.status for s in node.seen] == [200]
