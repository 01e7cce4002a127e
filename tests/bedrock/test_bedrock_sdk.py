"""boto3's bedrock-runtime client against the gateway: invoke, stream, errors, SigV4, catalogue.

boto3 is synchronous, so its calls run in a thread while the gateway serves on the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from dsl.model import RouterConfig
from tests.bedrock.clients import ClientMaker, stream_events
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.two_accounts import ACCOUNT_ENV

SONNET = "claude-sonnet-4-5-20250929"
BEDROCK_ID = f"us.anthropic.{SONNET}-v1:0"
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["context-1m-2025-08-07"],
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
    }
).encode()


@pytest.fixture
async def gw(config: RouterConfig, tls: ssl.SSLContext) -> AsyncIterator[RunningGateway]:
    async with running_gateway(config, ACCOUNT_ENV, ssl_context=tls) as running:
        yield running


@pytest.fixture
async def boto(gw: RunningGateway, bedrock_clients: ClientMaker) -> Any:
    return bedrock_clients(gw, await gw.issue_key(label="boto"))


async def invoke(client: Any, body: bytes = BODY) -> Any:
    return await asyncio.to_thread(lambda: client.invoke_model(modelId=BEDROCK_ID, body=body))


async def invoke_stream(client: Any) -> tuple[str, list[dict[str, Any]]]:
    def call() -> tuple[str, list[dict[str, Any]]]:
        response = client.invoke_model_with_response_stream(modelId=BEDROCK_ID, body=BODY)
        try:
            return response["contentType"], stream_events(response)
        finally:  # a stream that ends in an exception is left open, its socket with it
            response["body"].close()

    return await asyncio.to_thread(call)


async def test_invoke_model_answers_the_message_json(fake: FakeAnthropic, boto: Any) -> None:
    answer = await invoke(boto)
    message = json.loads(answer["body"].read())
    assert message["type"] == "message" and message["content"][0]["text"] == fake.text
    assert message["model"] == SONNET
    assert answer["ResponseMetadata"]["RequestId"] == "req_fake"  # the upstream's request id
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


async def test_invoke_with_response_stream_is_an_aws_event_stream(fake: FakeAnthropic, boto: Any) -> None:
    content_type, events = await invoke_stream(boto)
    assert content_type == "application/json"
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == fake.text
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == 12 and metrics["outputTokenCount"] == 7
    [seen] = fake.messages_requests()
    assert seen.json()["stream"] is True and seen.json()["model"] == SONNET


async def test_a_json_answer_to_a_stream_request_is_replayed_as_events(
    fake: FakeAnthropic, boto: Any
) -> None:
    fake.then(Step.json_for_stream())
    _, events = await invoke_stream(boto)
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == fake.text and events[-1]["type"] == "message_stop"


async def test_a_stream_that_fails_ends_in_an_exception_boto_raises(fake: FakeAnthropic, boto: Any) -> None:
    # Past the opening frames the stream has started: the error can only travel in-band.
    fake.then(Step.stream_error(after_events=5))
    with pytest.raises(EventStreamError) as caught:
        await invoke_stream(boto)
    assert caught.value.response["Error"]["Code"] == "serviceUnavailableException"
    assert caught.value.response["Error"]["Message"] == "Overloaded"


async def test_a_stream_cut_by_the_upstream_ends_in_an_internal_server_exception(
    fake: FakeAnthropic, boto: Any
) -> None:
    fake.then(Step.cut_stream(after_events=5))
    with pytest.raises(EventStreamError) as caught:
        await invoke_stream(boto)
    assert caught.value.response["Error"]["Code"] == "internalServerException"
    assert caught.value.response["Error"]["Message"] == "Upstream stream interrupted"


async def test_a_rate_limited_account_fails_over_like_messages(fake: FakeAnthropic, boto: Any) -> None:
    fake.then(Step.rate_limited(30))
    answer = await invoke(boto)
    assert json.loads(answer["body"].read())["content"][0]["text"] == fake.text
    first, second = fake.messages_requests()
    assert first.headers["x-api-key"] != second.headers["x-api-key"]


async def test_upstream_errors_reach_boto_as_bedrock_errors(
    fake: FakeAnthropic, gw: RunningGateway, boto: Any, bedrock_clients: ClientMaker
) -> None:
    fake.then(Step.error(400, "invalid_request_error", "max_tokens: too large"))
    with pytest.raises(ClientError) as caught:
        await invoke(boto)
    error = caught.value.response
    assert error["Error"] == {"Code": "ValidationException", "Message": "max_tokens: too large"}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as bad:
        await invoke(boto, b"{nope")
    assert bad.value.response["Error"]["Code"] == "ValidationException"
    assert "not valid JSON" in bad.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as bad_key:
        await invoke(bedrock_clients(gw, "la_sk_not-a-real-key"))
    assert bad_key.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert bad_key.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert len(fake.messages_requests()) == 1


async def test_sigv4_gets_a_401_that_says_how_to_configure(
    fake: FakeAnthropic, gw: RunningGateway, bedrock_clients: ClientMaker
) -> None:
    with pytest.raises(ClientError) as caught:
        await invoke(bedrock_clients(gw, None))
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert error["Error"]["Code"] == "UnrecognizedClientException"
    message = error["Error"]["Message"]
    assert "SigV4" in message and "AWS_BEARER_TOKEN_BEDROCK" in message
    assert "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1" in message and "AKIDEXAMPLE" not in message
    assert fake.messages_requests() == []


async def test_catalogue_answers_the_aws_sdk(gw: RunningGateway, bedrock_clients: ClientMaker) -> None:
    control = bedrock_clients(gw, await gw.issue_key(), service="bedrock")
    profiles = await asyncio.to_thread(lambda: control.list_inference_profiles(typeEquals="SYSTEM_DEFINED"))
    models = await asyncio.to_thread(control.list_foundation_models)
    ids = [p["inferenceProfileId"] for p in profiles["inferenceProfileSummaries"]]
    assert f"us.anthropic.{SONNET}-v1:0" in ids
    assert f"anthropic.{SONNET}-v1:0" in [m["modelId"] for m in models["modelSummaries"]]


async def test_failures_before_the_answer_map_to_bedrock_error_names(fake: FakeAnthropic, boto: Any) -> None:
    fake.then(Step.overloaded(), Step.overloaded(), Step.cut_json())
    with pytest.raises(ClientError) as parked:
        await invoke(boto)  # both accounts overloaded: the gateway's own 502, as on /v1/messages
    assert parked.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert parked.value.response["Error"]["Code"] == "InternalServerException"
    assert "no healthy accounts" in parked.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as cut:
        await invoke(boto)  # the upstream's JSON stops half-way
    assert cut.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert cut.value.response["Error"]["Code"] == "InternalServerException"
