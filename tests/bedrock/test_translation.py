"""Pure translation of the Bedrock and Vertex surfaces: model names, bodies, paths, catalogue."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.bedrock.models import anthropic_model_id, bedrock_model_id, foundation_models, inference_profiles
from gateway.bedrock.request import merged_beta_header, messages_request, parse_body
from gateway.errors import GatewayError
from gateway.vertex.paths import Action, VertexCall, parse_path
from gateway.vertex.paths import messages_request as vertex_request

SONNET = "claude-sonnet-4-5-20250929"


@pytest.mark.parametrize(
    ("given_id", "expected"),
    [
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET),
        ("anthropic.claude-sonnet-4-5-20250929-v1%3A0", SONNET),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET),
        ("eu.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022"),
        ("apac.anthropic.claude-3-5-sonnet-20240620-v2:0", "claude-3-5-sonnet-20240620"),
        ("global.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805"),
        ("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", SONNET),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            SONNET,
        ),
        (
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fanthropic.claude-sonnet-4-5-20250929-v1%3A0",
            SONNET,
        ),
        ("anthropic.claude-opus-4-7", "claude-opus-4-7"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        (SONNET, SONNET),
        ("claude-sonnet-4-5@20250929", SONNET),
        ("claude-sonnet-4-5%4020250929", SONNET),
        ("claude-haiku-4-5", "claude-haiku-4-5"),
    ],
)
def test_model_ids_map_to_anthropic_ids(given_id: str, expected: str) -> None:
    assert anthropic_model_id(given_id) == expected


@given(st.from_regex(r"claude-[a-z]{2,8}-[0-9]-[0-9](-20[0-9]{6})?", fullmatch=True))
def test_bedrock_id_maps_back(anthropic_id: str) -> None:
    bedrock = bedrock_model_id(anthropic_id)
    assert anthropic_model_id(bedrock) == anthropic_id
    assert anthropic_model_id("us." + bedrock) == anthropic_id


CLAUDE_CODE_BODY: dict[str, Any] = {
    "anthropic_version": "bedrock-2023-05-31",
    "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
    "max_tokens": 32000,
    "messages": [{"role": "user", "content": "hi"}],
    "system": [{"type": "text", "text": "be brief"}],
    "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
    "metadata": {"user_id": "u1"},
    "future_field": {"kept": True},
}


def test_bedrock_body_becomes_a_messages_request_without_touching_its_input() -> None:
    body = copy.deepcopy(CLAUDE_CODE_BODY)
    request = messages_request(body, "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0", stream=True)
    assert body == CLAUDE_CODE_BODY
    assert request.body == {
        "model": SONNET,
        "max_tokens": 32000,
        "messages": [{"role": "user", "content": "hi"}],
        "system": [{"type": "text", "text": "be brief"}],
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        "metadata": {"user_id": "u1"},
        "future_field": {"kept": True},
        "stream": True,
    }
    assert request.betas == ("interleaved-thinking-2025-05-14", "context-1m-2025-08-07")
    assert next(iter(request.body)) == "model"


@pytest.mark.parametrize(
    ("body", "path_model", "stream", "model", "has_stream"),
    [
        ({"max_tokens": 5, "stream": True}, "claude-sonnet-4-5", False, "claude-sonnet-4-5", False),
        ({"max_tokens": 5, "model": "claude-haiku-4-5"}, None, True, "claude-haiku-4-5", True),
        (
            {"max_tokens": 5, "model": "anthropic.claude-haiku-4-5-20251001-v1:0"},
            None,
            False,
            "claude-haiku-4-5-20251001",
            False,
        ),
        ({"max_tokens": 5, "model": "ignored"}, "claude-opus-4-7", False, "claude-opus-4-7", False),
    ],
)
def test_model_and_stream_come_from_the_endpoint(
    body: dict[str, Any], path_model: str | None, stream: bool, model: str, has_stream: bool
) -> None:
    request = messages_request(body, path_model, stream)
    assert request.model == model
    assert ("stream" in request.body) is has_stream


@pytest.mark.parametrize(
    ("raw", "path_model", "message"),
    [
        (b"{not json", "m", "not valid JSON"),
        (b"[1]", "m", "must be a JSON object"),
        (b"[" * 100000, "m", "not valid JSON"),
        (b'{"max_tokens": 1}', None, "No model"),
        (b'{"max_tokens": 1}', "anthropic.", "Not a model id"),
        (b'{"anthropic_beta": [1]}', "m", "anthropic_beta must be a list of strings"),
        (b'{"anthropic_beta": {"a": 1}}', "m", "anthropic_beta must be a list of strings"),
    ],
)
def test_bad_bodies_are_400s_that_say_why(raw: bytes, path_model: str | None, message: str) -> None:
    with pytest.raises(GatewayError) as caught:
        messages_request(parse_body(raw), path_model, stream=False)
    assert caught.value.status == 400 and message in caught.value.message


@pytest.mark.parametrize(
    ("header", "betas", "expected"),
    [
        (None, (), None),
        ("claude-code-20250219", (), "claude-code-20250219"),
        (None, ("a", "b"), "a,b"),
        ("claude-code-20250219, a", ("a", "b"), "claude-code-20250219,a,b"),
        (" ", (" ",), None),
    ],
)
def test_body_betas_join_the_header(header: str | None, betas: tuple[str, ...], expected: str | None) -> None:
    assert merged_beta_header(header, betas) == expected


VERTEX_BASE = "/projects/p/locations/us-east5/publishers/anthropic/models"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            f"/v1{VERTEX_BASE}/claude-sonnet-4-5:streamRawPredict",
            VertexCall("p", "us-east5", "claude-sonnet-4-5", Action.STREAM),
        ),
        (
            f"/v1{VERTEX_BASE}/claude-sonnet-4-5@20250929:rawPredict",
            VertexCall("p", "us-east5", "claude-sonnet-4-5@20250929", Action.PREDICT),
        ),
        (
            f"{VERTEX_BASE}/count-tokens:rawPredict",
            VertexCall("p", "us-east5", "count-tokens", Action.COUNT_TOKENS),
        ),
        (
            f"/api/services/vertex/v1{VERTEX_BASE}/m:rawPredict",
            VertexCall("p", "us-east5", "m", Action.PREDICT),
        ),
        (f"/v1beta1{VERTEX_BASE}/m:rawPredict", VertexCall("p", "us-east5", "m", Action.PREDICT)),
        (f"/v1{VERTEX_BASE}/count-tokens:streamRawPredict", None),
        (f"/v1{VERTEX_BASE}/m:predict", None),
        ("/v1/projects/p/locations/l/publishers/google/models/gemini:rawPredict", None),
        ("/v1/messages", None),
    ],
)
def test_vertex_paths(path: str, expected: VertexCall | None) -> None:
    assert parse_path(path) == expected


def test_vertex_bodies_become_messages_requests() -> None:
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 9, "messages": [], "stream": False}
    stream = VertexCall("p", "l", "claude-sonnet-4-5@20250929", Action.STREAM)
    assert vertex_request(stream, body) == (
        "/v1/messages",
        {"model": SONNET, "max_tokens": 9, "messages": [], "stream": True},
    )
    plain = VertexCall("p", "l", "claude-haiku-4-5", Action.PREDICT)
    assert vertex_request(plain, body)[1] == {
        "model": "claude-haiku-4-5",
        "max_tokens": 9,
        "messages": [],
        "stream": False,
    }
    count = VertexCall("p", "l", "count-tokens", Action.COUNT_TOKENS)
    counted = {"anthropic_version": "vertex-2023-10-16", "model": "claude-haiku-4-5@20251001", "messages": []}
    assert vertex_request(count, counted) == (
        "/v1/messages/count_tokens",
        {"model": "claude-haiku-4-5-20251001", "messages": []},
    )
    assert body["anthropic_version"] == "vertex-2023-10-16"  # input untouched
    with pytest.raises(GatewayError, match="needs the model"):
        vertex_request(count, {"messages": []})


def test_catalogue_lists_models_in_the_sdk_shapes() -> None:
    models = foundation_models([SONNET, "claude-opus-4-7"])["modelSummaries"]
    assert [m["modelId"] for m in models] == [
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-opus-4-7",
    ]
    assert models[0]["modelName"] == "Claude Sonnet 4.5"
    profiles = inference_profiles([SONNET], "2026-01-01T00:00:00Z")["inferenceProfileSummaries"]
    assert profiles[0]["inferenceProfileId"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert profiles[0]["type"] == "SYSTEM_DEFINED" and profiles[0]["status"] == "ACTIVE"
    assert anthropic_model_id(profiles[0]["inferenceProfileArn"]) == SONNET


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
KEYS = st.sampled_from(
    ["anthropic_version", "anthropic_beta", "model", "stream", "max_tokens", "x"]
) | st.text(max_size=8)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=80)
@given(st.dictionaries(KEYS, JSON, max_size=6), st.one_of(st.none(), st.text(max_size=30)), st.booleans())
def test_any_body_is_translated_or_refused_with_a_400(
    body: dict[str, Any], path_model: str | None, stream: bool
) -> None:
    before = copy.deepcopy(body)
    try:
        request = messages_request(body, path_model, stream)
    except GatewayError as error:
        assert error.status == 400
        return
    finally:
        assert body == before
    dropped = {"anthropic_version", "anthropic_beta", "model", "stream"}
    assert set(request.body) == (set(body) - dropped) | {"model"} | ({"stream"} if stream else set())
    assert all(request.body[k] == body[k] for k in set(body) - dropped)
    assert isinstance(request.model, str) and request.model


@given(st.text(max_size=120))
def test_model_id_mapping_never_fails(name: str) -> None:
    assert isinstance(anthropic_model_id(name), str)
