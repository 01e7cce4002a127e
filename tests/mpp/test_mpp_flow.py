"""MPP on the OpenAI routes, driven by a real HTTP client: 402 → pay with the test verifier → 200 with
a receipt; replayed, expired and tampered credentials; the la_sk_ key checked before any 402."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dsl.model import MppConfig, RedisConfig, SecretRef
from gateway.app import ConfigurationError, build_app
from gateway.mpp.challenge import Challenge, b64url, b64url_decode, parse_auth_params
from gateway.mpp.gate import MPP, TEST_SECRET_ENV
from gateway.mpp.verifiers import hmac_test_proof
from tests.openai.conftest import ACCOUNT_KEY, config_for
from tests.openai.upstream import ScriptedAnthropic
from tests.support.gateway import TEST_SECRET, RunningGateway, running_gateway
from tests.support.redis_server import free_port, redis_server

PAYER_SECRET = "shared-with-the-paying-client"
MPP_ON = MppConfig(enabled=True, amount="25", currency="USD", recipient="acct_router", method="test")
CHAT = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}
PROBLEM = "https://paymentauth.org/problems/"


@pytest.fixture
async def upstream() -> AsyncIterator[ScriptedAnthropic]:
    async with ScriptedAnthropic(text="paid answer") as fake:
        yield fake


@pytest.fixture
async def gateway(upstream: ScriptedAnthropic, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    config = config_for(upstream.url, tmp_path, mpp=MPP_ON)
    env = {"ACCOUNT_KEY": ACCOUNT_KEY, TEST_SECRET_ENV: PAYER_SECRET}
    async with running_gateway(config, env) as gw:
        yield gw


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def challenge_of(response: aiohttp.ClientResponse) -> Challenge:
    scheme, _, params = response.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Payment"
    return Challenge(**parse_auth_params(params))


def pay(challenge: Challenge | dict[str, str], proof: str | None = None) -> str:
    fields = challenge.params() if isinstance(challenge, Challenge) else challenge
    if proof is None:
        proof = hmac_test_proof(PAYER_SECRET.encode(), fields["id"])
    doc = {"challenge": fields, "source": "did:example:payer", "payload": {"proof": proof}}
    return "Payment " + b64url(json.dumps(doc).encode())


async def post(
    http: aiohttp.ClientSession,
    gw: RunningGateway,
    key: str | None,
    payment: str | None = None,
    path: str = "/v1/chat/completions",
    body: Any = None,
    host: str | None = None,
) -> tuple[aiohttp.ClientResponse, Any]:
    headers = {"Host": host} if host else {}
    if key:
        headers["x-api-key"] = key
    if payment:
        headers["Authorization"] = payment
    async with http.post(gw.url + path, json=body or CHAT, headers=headers) as response:
        raw = await response.read()
    return response, json.loads(raw) if raw.startswith(b"{") else raw


async def test_402_then_pay_then_200_with_a_receipt(
    gateway: RunningGateway, http: aiohttp.ClientSession, upstream: ScriptedAnthropic
) -> None:
    key = await gateway.issue_key(label="payer")
    first, problem = await post(http, gateway, key)
    assert first.status == 402 and first.headers["Content-Type"].startswith("application/problem+json")
    assert first.headers["Cache-Control"] == "no-store" and "Payment-Receipt" not in first.headers
    challenge = challenge_of(first)
    assert (challenge.method, challenge.intent, challenge.realm) == (
        "test",
        "charge",
        first.url.host + f":{first.url.port}",
    )
    assert json.loads(b64url_decode(challenge.request)) == {
        "amount": "25",
        "currency": "usd",
        "recipient": "acct_router",
    }
    assert challenge.expires.endswith("Z") and challenge.id == problem["challengeId"]
    assert json.loads(b64url_decode(challenge.opaque))["nonce"]  # two challenges never share an id
    assert problem["type"] == PROBLEM + "payment-required" and problem["status"] == 402
    assert problem["recipient"] == "acct_router" and problem["resource"] == "/v1/chat/completions"
    assert upstream.requests == []

    paid, answer = await post(http, gateway, key, pay(challenge))
    assert paid.status == 200, answer
    assert answer["choices"][0]["message"]["content"] == "paid answer"
    receipt = json.loads(b64url_decode(paid.headers["Payment-Receipt"]))
    assert receipt["status"] == "success" and receipt["method"] == "test" and receipt["reference"]
    assert receipt["timestamp"].endswith("Z")
    assert len(upstream.requests) == 1

    replayed, problem = await post(http, gateway, key, pay(challenge))
    assert replayed.status == 402 and problem["type"] == PROBLEM + "invalid-challenge"
    assert "already paid" in problem["detail"] and "Payment-Receipt" not in replayed.headers
    assert challenge_of(replayed).id != challenge.id  # a fresh challenge to pay instead
    assert len(upstream.requests) == 1


async def test_a_paid_stream_and_the_responses_route(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    key = await gateway.issue_key(label="payer")
    first, _ = await post(http, gateway, key, path="/v1/responses", body={"model": "m", "input": "Hi"})
    assert first.status == 402
    paid, raw = await post(http, gateway, key, pay(challenge_of(first)), body={**CHAT, "stream": True})
    assert paid.status == 200 and paid.headers["Content-Type"].startswith("text/event-stream")
    assert b"paid answer" in raw or b"paid" in raw
    assert json.loads(b64url_decode(paid.headers["Payment-Receipt"]))["status"] == "success"


async def test_expired_tampered_and_unproven_credentials(
    gateway: RunningGateway, http: aiohttp.ClientSession, upstream: ScriptedAnthropic
) -> None:
    key = await gateway.issue_key(label="payer")
    first, _ = await post(http, gateway, key)
    challenge = challenge_of(first)

    cheaper = {
        **challenge.params(),
        "request": b64url(b'{"amount":"1","currency":"usd","recipient":"acct_router"}'),
    }
    tampered, problem = await post(http, gateway, key, pay(cheaper))
    assert tampered.status == 402 and problem["type"] == PROBLEM + "invalid-challenge"

    wrong, problem = await post(http, gateway, key, pay(challenge, proof="forged"))
    assert wrong.status == 402 and problem["type"] == PROBLEM + "verification-failed"
    assert problem["challengeId"] == challenge.id

    malformed, problem = await post(http, gateway, key, "Payment %%%")
    assert malformed.status == 402 and problem["type"] == PROBLEM + "malformed-credential"

    gate = gateway.app[MPP]
    real_clock = gate.clock
    gate.clock = lambda: real_clock() + 301  # past the challenge's five minutes
    expired, problem = await post(http, gateway, key, pay(challenge))
    assert expired.status == 402 and problem["type"] == PROBLEM + "payment-expired"
    gate.clock = real_clock

    # A failed proof does not burn the challenge: paying it properly still works.
    paid, _ = await post(http, gateway, key, pay(challenge))
    assert paid.status == 200 and len(upstream.requests) == 1


async def test_the_key_is_checked_before_any_402(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    missing, body = await post(http, gateway, None)
    assert missing.status == 401 and body["error"]["type"] == "authentication_error"
    assert "WWW-Authenticate" not in missing.headers
    forged, body = await post(http, gateway, "la_sk_forged")
    assert forged.status == 401
    key = await gateway.issue_key(label="payer")
    models = await http.get(f"{gateway.url}/v1/models", headers={"x-api-key": key})
    assert models.status == 200  # listing models is free
    first, _ = await post(http, gateway, key)
    paid, _ = await post(http, gateway, None, pay(challenge_of(first)))
    assert paid.status == 401  # paying does not replace the key


async def test_mpp_off_serves_without_payment(upstream: ScriptedAnthropic, tmp_path: Path) -> None:
    async with running_gateway(config_for(upstream.url, tmp_path), {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        key = await gw.issue_key(label="free")
        async with aiohttp.ClientSession() as http:
            response, _ = await post(http, gw, key)
    assert response.status == 200 and "Payment-Receipt" not in response.headers


@pytest.mark.parametrize(
    ("mpp", "env", "message"),
    [
        (dataclasses.replace(MPP_ON, recipient=None), {TEST_SECRET_ENV: "s"}, "no recipient"),
        (dataclasses.replace(MPP_ON, amount="0.00"), {TEST_SECRET_ENV: "s"}, "no positive amount"),
        (dataclasses.replace(MPP_ON, amount="ten"), {TEST_SECRET_ENV: "s"}, "no positive amount"),
        (MPP_ON, {}, "no payment verifier"),
        (
            dataclasses.replace(MPP_ON, method="stripe"),
            {TEST_SECRET_ENV: "s"},
            "MPP_METHOD 'stripe' has no payment verifier",
        ),
        (dataclasses.replace(MPP_ON, method="Bad-1"), {TEST_SECRET_ENV: "s"}, "lowercase letters only"),
    ],
)
def test_mpp_that_cannot_charge_does_not_start(
    tmp_path: Path, mpp: MppConfig, env: dict[str, str], message: str
) -> None:
    config = config_for("http://127.0.0.1:9", tmp_path, mpp=mpp)
    with pytest.raises(ConfigurationError) as caught:
        build_app(config, {"TOKEN_SECRET": TEST_SECRET, **env})
    assert message in str(caught.value)


async def test_replicas_sharing_redis_accept_a_paid_challenge_once(
    upstream: ScriptedAnthropic, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    port = free_port()
    env = {
        "ACCOUNT_KEY": ACCOUNT_KEY,
        TEST_SECRET_ENV: PAYER_SECRET,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
    }
    shared = RedisConfig(url=SecretRef(env="REDIS_URL"))
    configs = [config_for(upstream.url, tmp_path / name, mpp=MPP_ON, redis=shared) for name in ("a", "b")]
    async with (
        redis_server(tmp_path / "redis", port=port),
        running_gateway(configs[0], env) as first,
        running_gateway(configs[1], env) as second,
    ):
        key = await first.issue_key(label="payer")
        refused, _ = await post(http, first, key, host="router.example")
        challenge = challenge_of(refused)
        paid, _ = await post(http, first, key, pay(challenge), host="router.example")
        assert paid.status == 200
        again, problem = await post(http, second, key, pay(challenge), host="router.example")
    assert again.status == 402 and "already paid" in problem["detail"]
    assert len(upstream.requests) == 1
