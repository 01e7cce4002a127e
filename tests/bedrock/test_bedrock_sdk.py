"""boto3's bedrock-runtime client against the gateway: invoke, stream, errors, SigV4, catalogue.

The key travels as a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`), exactly as Claude Code sends it.
boto3 is synchronous, so its calls run in a thread while the gateway serves on the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from dsl.model import RouterConfig
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.tls import Certificate
from tests.support.two_accounts import ACCOUNT_ENV

SONNET = "claude-sonnet-4-5-20250929"
BEDROCK_ID = f"us.anthropic.{SONNET}-v1:0"
T = TypeVar("T")


def body(**extra: Any) -> bytes:
    return json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "anthropic_beta": ["context-1m-2025-08-07"],
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "Hi"}],
            **extra,
        }
    ).encode()


def runtime(gw: RunningGateway, monkeypatch: pytest.MonkeyPatch, key: str | None, cert: Certificate) -> Any:
    if key is None:  # SigV4 with ordinary AWS credentials
        monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    else:
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key)
    session = boto3.session.Session(region_name="us-east-1")
    return session.client(
        "bedrock-runtime",
        endpoint_url=gw.tls_url,
        verify=str(cert.path),
        config=Config(retries={"max_attempts": 1}),
    )


async def off_loop(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    # boto3 decodes the payload's base64 `bytes` blob itself.
    return [json.loads(part["chunk"]["bytes"]) for part in response["body"]]


async def test_invoke_model_answers_the_message_json(
    fake: FakeAnthropic,
    config: RouterConfig,
    monkeypatch: pytest.MonkeyPatch,
    cert: Certificate,
    tls: ssl.SSLContext,
) -> None:
    async with running_gateway(config, ACCOUNT_ENV, tls) as gw:
        client = runtime(gw, monkeypatch, await gw.issue_key(label="boto"), cert)
        answer = await off_loop(lambda: client.invoke_model(modelId=BEDROCK_ID, body=body()))
    message = json.loads(answer["body"].read())
    assert message["type"] == "message" and message["content"][0]["text"] == fake.text
    assert message["model"] == SONNET
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-input-token-count"] == "12"
    assert headers["x-amzn-bedrock-output-token-count"] == "7"
    [seen] = fake.messages_requests()
    sent = seen.json()
    assert sent["model"] == SONNET and "stream" not in sent
    assert "anthropic_version" not in sent and "anthropic_beta" not in sent
    assert "context-1m-2025-08-07" in seen.headers["anthropic-beta"].split(",")
    assert not any(h.startswith(("x-amz", "amz-sdk")) for h in seen.headers)
    assert seen.headers["x-api-key"].startswith("sk-ant-api03-ACCOUNT-")


async def test_invoke_with_response_stream_is_an_aws_event_stream(
    fake: FakeAnthropic,
    config: RouterConfig,
    monkeypatch: pytest.MonkeyPatch,
    cert: Certificate,
    tls: ssl.SSLContext,
) -> None:
    async with running_gateway(config, ACCOUNT_ENV, tls) as gw:
        client = runtime(gw, monkeypatch, await gw.issue_key(label="boto"), cert)

        def call() -> list[dict[str, Any]]:
            response = client.invoke_model_with_response_stream(modelId=BEDROCK_ID, body=body())
            assert response["contentType"] == "application/json"
            return stream_events(response)

        events = await off_loop(call)
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == fake.text
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == 12 and metrics["outputTokenCount"] == 7
    [seen] = fake.messages_requests()
    assert seen.json()["stream"] is True and seen.json()["model"] == SONNET


async def test_a_stream_that_fails_ends_in_an_exception_boto_raises(
    fake: FakeAnthropic,
    config: RouterConfig,
    monkeypatch: pytest.MonkeyPatch,
    cert: Certificate,
    tls: ssl.SSLContext,
) -> None:
    # Past the opening frames the stream has started: the error can only travel in-band.
    fake.then(Step.stream_error(after_events=5))
    async with running_gateway(config, ACCOUNT_ENV, tls) as gw:
        client = runtime(gw, monkeypatch, await gw.issue_key(label="boto"), cert)

        def call() -> list[dict[str, Any]]:
            response = client.invoke_model_with_response_stream(modelId=BEDROCK_ID, body=body())
            return stream_events(response)

        with pytest.raises(EventStreamError) as caught:
            await off_loop(call)
    assert caught.value.response["Error"]["Code"] == "serviceUnavailableException"
    assert caught.value.response["Error"]["Message"] == "Overloaded"


async def test_a_rate_limited_account_fails_over_like_messages(
    fake: FakeAnthropic,
    config: RouterConfig,
    monkeypatch: pytest.MonkeyPatch,
    cert: Certificate,
    tls: ssl.SSLContext,
) -> None:
    fake.then(Step.rate_limited(30))
    async with running_gateway(config, ACCOUNT_ENV, tls) as gw:
        client = runtime(gw, monkeypatch, await gw.issue_key(label="boto"), cert)
        answer = await off_loop(lambda: client.invoke_model(modelId=BEDROCK_ID, body=body()))
    assert json.loads(answer["body"].read())["content"][0]["text"] == fake.text
    first, second = fake.messages_requests()
    assert first.headers["x-api-key"] != second.headers["x-api-key"]


async def test_upstream_errors_reach_boto_as_bedrock_errors(
    fake: FakeAnthropic,
    config: RouterConfig,
    monkeypatch: pytest.MonkeyPatch,
    cert: Certificate,
    tls: ssl.SSLContext,
) -> None:
    fake.then(Step.error(400, "invalid_request_error", "max_tokens: too large"))
    async with running_gateway(config, ACCOUNT_ENV, tls) as gw:
        client = runtime(gw, monkeypatch, await gw.issue_key(label="boto"), cert)
        with pytest.raises(ClientError) as caught:
            await off_loop(lambda: client.invoke_model(modelId=BEDROCK_ID, body=body()))
        error = caught.value.response
        assert error["Error"] == {"Code": "ValidationException", "Message": "max_tokens: too large"}
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(ClientError) as bad:
            await off_loop(lambda: client.invoke_model(modelId=BEDROCK_ID, body=b"{nope"))
        assert bad.value.response["Error"]["Code"] == "ValidationException"
        assert "not valid JSON" in bad.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as bad_key:
            bad_client = runtime(gw, monkeypatch, "la_sk_not-a-real-key", cert)
            await off_loop(lambda: bad_client.invoke_model(modelId=BEDROCK_ID, body=body()))
        assert bad_key.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert len(fake.messages_requests()) == 1


async def test_sigv4_gets_a_401_that_says_how_to_configure(
    fake: FakeAnthropic,
    config: RouterConfig,
    monkeypatch: pytest.MonkeyPatch,
    cert: Certificate,
    tls: ssl.SSLContext,
) -> None:
    async with running_gateway(config, ACCOUNT_ENV, tls) as gw:
        client = runtime(gw, monkeypatch, None, cert)
        with pytest.raises(ClientError) as caught:
            await off_loop(lambda: client.invoke_model(modelId=BEDROCK_ID, body=body()))
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert error["Error"]["Code"] == "UnrecognizedClientException"
    message = error["Error"]["Message"]
    assert "SigV4" in message and "AWS_BEARER_TOKEN_BEDROCK" in message
    assert "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1" in message and "AKIDEXAMPLE" not in message
    assert fake.messages_requests() == []


async def test_catalogue_answers_the_aws_sdk(
    fake: FakeAnthropic,
    config: RouterConfig,
    monkeypatch: pytest.MonkeyPatch,
    cert: Certificate,
    tls: ssl.SSLContext,
) -> None:
    async with running_gateway(config, ACCOUNT_ENV, tls) as gw:
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", await gw.issue_key())
        control = boto3.session.Session(region_name="us-east-1").client(
            "bedrock", endpoint_url=gw.tls_url, verify=str(cert.path)
        )
        profiles = await off_loop(lambda: control.list_inference_profiles(typeEquals="SYSTEM_DEFINED"))
        models = await off_loop(control.list_foundation_models)
    ids = [p["inferenceProfileId"] for p in profiles["inferenceProfileSummaries"]]
    assert f"us.anthropic.{SONNET}-v1:0" in ids
    assert f"anthropic.{SONNET}-v1:0" in [m["modelId"] for m in models["modelSummaries"]]
