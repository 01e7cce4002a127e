"""Label bounding: paths, statuses and client-chosen model names map onto a closed set."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.telemetry.labels import OTHER, ModelLabels, Surface, classify_path, status_class

PATHS = [
    ("/v1/messages", "/v1/messages", Surface.ANTHROPIC),
    ("/v1/messages/count_tokens", "/v1/messages/count_tokens", Surface.ANTHROPIC),
    ("/invoke-with-response-stream", "/invoke-with-response-stream", Surface.ANTHROPIC),
    ("/model/claude-x/invoke", "/model/{id}/invoke", Surface.ANTHROPIC),
    ("/api/services/bedrock/invoke", "/invoke", Surface.ANTHROPIC),
    ("/inference-profiles", "/inference-profiles", None),  # answered by the gateway, not forwarded
    (
        "/v1/projects/p/locations/l/publishers/anthropic/models/m:streamRawPredict",
        "vertex:streamRawPredict",
        Surface.ANTHROPIC,
    ),
    (
        "/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:rawPredict",
        "vertex:count-tokens:rawPredict",
        Surface.ANTHROPIC,
    ),
    ("/api/latest/anthropic/v1/messages", "/api/latest/anthropic/v1/messages", Surface.ANTHROPIC),
    ("/v1/chat/completions", "/v1/chat/completions", Surface.OPENAI_CHAT),
    ("/v1/responses", "/v1/responses", Surface.OPENAI_RESPONSES),
    ("/api/providers/secret-name", "/api/providers/{name}", None),
    ("/health", "/health", None),
    ("/some/random/la_sk_abc", OTHER, Surface.ANTHROPIC),  # the catch-all forwards it upstream
    ("/v1/complete", OTHER, Surface.ANTHROPIC),
    ("/api/latest/anthropic/whatever", OTHER, Surface.ANTHROPIC),
    ("/api/tokens/self", "/api/tokens/self", None),
    ("/api/tokens/anything-else", OTHER, None),
    ("/v1/models/claude-x", "/v1/models/{model}", None),
    ("/actor/code", "activitypub", None),
]


@pytest.mark.parametrize(("path", "label", "surface"), PATHS)
def test_classify_path(path: str, label: str, surface: Surface | None) -> None:
    assert classify_path(path) == (label, surface)


# Every route label there is: a closed set, whatever path a client sends.
ROUTE_LABELS = {
    OTHER,
    "activitypub",
    "/",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/api/latest/anthropic/v1/messages",
    "/api/latest/anthropic/v1/messages/count_tokens",
    "/invoke",
    "/invoke-with-response-stream",
    "/model/{id}/invoke",
    "/model/{id}/invoke-with-response-stream",
    "/foundation-models",
    "/inference-profiles",
    "vertex:rawPredict",
    "vertex:streamRawPredict",
    "vertex:count-tokens:rawPredict",
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/models",
    "/v1/models/{model}",
    "/health",
    "/metrics",
    "/v1/usage",
    "/v1/accounts",
    "/api/tokens",
    "/api/tokens/list",
    "/api/tokens/revoke",
    "/api/tokens/expire",
    "/api/tokens/self",
    "/api/providers",
    "/api/providers/{name}",
}
# Prefixes with their own rules, so generated paths exercise them, not just the catch-all.
PREFIXES = [
    "/",
    "/v1/messages",
    "/api/latest/anthropic",
    "/api/providers/",
    "/api/tokens/",
    "/v1/models/",
    "/model/",
    "/v1/projects/p/locations/l/publishers/anthropic/models/",
    "/actor",
    "/.well-known/",
]


@given(st.sampled_from(PREFIXES), st.text(max_size=120), st.sampled_from(["", ":rawPredict", "/invoke"]))
def test_route_labels_are_a_closed_set(prefix: str, middle: str, suffix: str) -> None:
    label, _ = classify_path(prefix + middle + suffix)
    assert label in ROUTE_LABELS


@pytest.mark.parametrize(
    ("status", "klass"), [(200, "2xx"), (404, "4xx"), (529, "5xx"), (499, "4xx"), (42, OTHER)]
)
def test_status_class(status: int, klass: str) -> None:
    assert status_class(status) == klass


def test_model_labels_are_capped_and_sanitised() -> None:
    labels = ModelLabels(limit=2)
    assert labels.label("claude-sonnet-4-5") == "claude-sonnet-4-5"
    assert labels.label("bad model with spaces") == OTHER
    assert labels.label("gpt-4o") == "gpt-4o"
    assert labels.label("third-model") == OTHER
    assert labels.label("claude-sonnet-4-5") == "claude-sonnet-4-5"
    assert labels.label(None) == ""


@pytest.mark.parametrize(
    "name",
    ["la_sk_eyJhbGciOiJIUzI1NiJ9.e30.sig", "sk-ant-api03-abcdef", "8d5c5a0e-1234-4abc-8def-000000000000"],
)
def test_key_or_token_id_shaped_model_names_are_never_labels(name: str) -> None:
    """A client that sends its key or a token id as the model must not publish it in /metrics."""
    assert ModelLabels().label(name) == OTHER


@given(st.lists(st.text(max_size=120), max_size=300))
def test_model_label_cardinality_is_bounded(names: list[str]) -> None:
    labels = ModelLabels(limit=5)
    assert len({labels.label(n) for n in names}) <= 5 + 2  # + "" and "other"
