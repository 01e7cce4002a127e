"""Pure rules around the surfaces: which family and format a path has, and the cloud-credential 401s."""

from __future__ import annotations

import pytest

from dsl.model import ApiFormat
from gateway.bedrock.surface import BedrockTranslator
from gateway.errors import GatewayError, bedrock_error_type
from gateway.exchange.interface import UpstreamRequest, Whole
from gateway.http.cloud_auth import BEDROCK_HINT, VERTEX_HINT, cloud_credential_error
from gateway.http.families import Family, api_format_of, family_of, format_allowed

VERTEX = "/v1/projects/p/locations/l/publishers/anthropic/models/claude-sonnet-4-5:rawPredict"


@pytest.mark.parametrize(
    ("path", "family", "api_format"),
    [
        ("/v1/messages", Family.ANTHROPIC, ApiFormat.ANTHROPIC),
        ("/v1/complete", Family.ANTHROPIC, ApiFormat.ANTHROPIC),
        ("/invoke", Family.BEDROCK, ApiFormat.BEDROCK),
        ("/api/services/bedrock/invoke-with-response-stream", Family.BEDROCK, ApiFormat.BEDROCK),
        ("/model/anthropic.claude-x-v1%3A0/invoke", Family.BEDROCK, ApiFormat.BEDROCK),
        ("/model/a/b/invoke", Family.ANTHROPIC, ApiFormat.ANTHROPIC),
        ("/inference-profiles", Family.BEDROCK, ApiFormat.BEDROCK),
        (VERTEX, Family.ANTHROPIC, ApiFormat.VERTEX),
        (f"/api/services/vertex{VERTEX}", Family.ANTHROPIC, ApiFormat.VERTEX),
        ("/v1/chat/completions", Family.OPENAI, ApiFormat.ANTHROPIC),
    ],
)
def test_family_and_format_of_paths(path: str, family: Family, api_format: ApiFormat) -> None:
    assert family_of(path) is family
    assert api_format_of(path) is api_format
    assert format_allowed(path, None) and format_allowed(path, api_format)
    others = [f for f in ApiFormat if f is not api_format]
    assert not any(format_allowed(path, other) for other in others)


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        (
            {"authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request"},
            BEDROCK_HINT,
        ),
        ({"Authorization": "Bearer ya29.a0AfH6SMB-secret"}, VERTEX_HINT),
        ({"authorization": "bearer ya29.x", "x-api-key": "la_sk_abc"}, VERTEX_HINT),
        ({"authorization": "Bearer la_sk_abc"}, None),
        ({"x-api-key": "la_sk_abc"}, None),
        ({}, None),
    ],
)
def test_cloud_credentials_get_a_401_with_the_recipe(headers: dict[str, str], hint: str | None) -> None:
    error = cloud_credential_error(headers)
    if hint is None:
        assert error is None
        return
    assert isinstance(error, GatewayError) and error.status == 401 and error.message == hint
    assert "AKID" not in error.message and "secret" not in error.message


def test_bedrock_error_rendering() -> None:
    error = GatewayError(429, "rate_limit_error", "slow down", {"retry-after": "3"})
    assert error.bedrock_body() == {
        "message": "slow down",
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    assert error.bedrock_headers() == {"retry-after": "3", "x-amzn-ErrorType": "ThrottlingException"}
    assert bedrock_error_type(503, "overloaded_error") == "ServiceUnavailableException"
    assert (
        bedrock_error_type(418) == "ValidationException"
        and bedrock_error_type(599) == "InternalServerException"
    )


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            529,
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            (503, "Overloaded"),
        ),
        (429, b'{"type":"error","error":{"type":"rate_limit_error","message":"Slow"}}', (429, "Slow")),
        (500, b"<html>", (500, "Upstream request failed")),
        (400, None, (400, "Upstream request failed")),
    ],
)
def test_upstream_error_answers_become_bedrock_errors(
    status: int, body: bytes | None, expected: tuple[int, str]
) -> None:
    call = UpstreamRequest("POST", "/v1/messages", "", (), b"{}")
    plan = BedrockTranslator(call, stream=False, clock=lambda: 0.0).answer(status, None, {"retry-after": "7"})
    assert isinstance(plan, Whole)
    with pytest.raises(GatewayError) as caught:
        plan.convert(body)
    assert (caught.value.status, caught.value.message) == expected
    assert caught.value.headers == {"retry-after": "7"}
