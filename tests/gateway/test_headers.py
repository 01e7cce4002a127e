"""Header rules of the pass-through proxy, as tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.exchange.headers import (
    client_response_headers,
    merge_oauth_beta,
    upstream_request_headers,
)


@pytest.mark.parametrize(
    ("client_value", "expected"),
    [
        (None, "oauth-2025-04-20"),
        ("", "oauth-2025-04-20"),
        ("  ", "oauth-2025-04-20"),
        ("oauth-2025-04-20", "oauth-2025-04-20"),
        ("foo", "foo,oauth-2025-04-20"),
        ("interleaved-thinking-2025-05-14", "interleaved-thinking-2025-05-14,oauth-2025-04-20"),
        ("a, oauth-2025-04-20 ,b", "a, oauth-2025-04-20 ,b"),
    ],
)
def test_oauth_beta_is_merged_once(client_value: str | None, expected: str) -> None:
    assert merge_oauth_beta(client_value) == expected


CLIENT = (
    ("Host", "gateway.local"),
    ("Authorization", "Bearer la_sk_client"),
    ("x-api-key", "la_sk_client"),
    ("Connection", "keep-alive"),
    ("Keep-Alive", "timeout=5"),
    ("Transfer-Encoding", "chunked"),
    ("Content-Length", "42"),
    ("Content-Type", "application/json"),
    ("X-Claude-Code-Session-Id", "sess-1"),
    ("User-Agent", "claude-cli/2.1"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
)


def test_oauth_credential_replaces_client_key_and_adds_version_and_beta() -> None:
    out = upstream_request_headers(CLIENT, {"authorization": "Bearer sk-ant-oat01-real"}, is_oauth=True)
    assert out["authorization"] == "Bearer sk-ant-oat01-real"
    assert "x-api-key" not in out
    assert out["anthropic-version"] == "2023-06-01"
    assert out["anthropic-beta"] == "oauth-2025-04-20"
    for stripped in (
        "host",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "accept-encoding",
    ):
        assert stripped not in out
    assert out["x-claude-code-session-id"] == "sess-1"
    assert out["user-agent"] == "claude-cli/2.1"
    assert "la_sk_client" not in " ".join(out.values())


def test_client_version_and_betas_are_kept() -> None:
    client = (("anthropic-version", "2024-01-01"), ("anthropic-beta", "interleaved-thinking-2025-05-14"))
    out = upstream_request_headers(client, {"authorization": "Bearer t"}, is_oauth=True)
    assert out["anthropic-version"] == "2024-01-01"
    assert out["anthropic-beta"] == "interleaved-thinking-2025-05-14,oauth-2025-04-20"


def test_api_key_credential_gets_no_oauth_beta() -> None:
    client = (("authorization", "Bearer la_sk_x"), ("anthropic-beta", "foo"))
    out = upstream_request_headers(client, {"x-api-key": "sk-ant-api03-real"}, is_oauth=False)
    assert out["x-api-key"] == "sk-ant-api03-real"
    assert "authorization" not in out
    assert out["anthropic-beta"] == "foo"
    assert "anthropic-beta" not in upstream_request_headers((), {"x-api-key": "k"}, is_oauth=False)


def test_response_headers_drop_hop_by_hop_and_cookies() -> None:
    out = client_response_headers(
        [
            ("Content-Type", "text/event-stream"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive"),
            ("Set-Cookie", "session=abc"),
            ("request-id", "req_1"),
            ("anthropic-ratelimit-unified-status", "allowed"),
        ]
    )
    assert dict(out) == {
        "Content-Type": "text/event-stream",
        "request-id": "req_1",
        "anthropic-ratelimit-unified-status": "allowed",
    }


header_names = st.sampled_from(
    [
        "authorization",
        "X-Api-Key",
        "Host",
        "anthropic-beta",
        "Anthropic-Version",
        "content-type",
        "Connection",
        "x-claude-code-session-id",
        "Transfer-Encoding",
        "Accept-Encoding",
        "x-custom",
        "Content-Length",
    ]
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@given(client=st.lists(st.tuples(header_names, header_values), max_size=12), is_oauth=st.booleans())
def test_credential_swap_holds_for_any_client_headers(client: list[tuple[str, str]], is_oauth: bool) -> None:
    credential = {"authorization": "Bearer REAL"} if is_oauth else {"x-api-key": "REAL"}
    out = upstream_request_headers(client, credential, is_oauth)
    assert out.getall("authorization", []) == (["Bearer REAL"] if is_oauth else [])
    assert out.getall("x-api-key", []) == ([] if is_oauth else ["REAL"])
    for dropped in ("host", "connection", "transfer-encoding", "content-length", "accept-encoding"):
        assert dropped not in out
    assert len(out.getall("anthropic-version")) == 1
    sent = [v for k, v in client if k.lower() == "anthropic-beta" and v.strip()]
    joined = ",".join(sent)
    if is_oauth:
        assert out.getall("anthropic-beta") == [merge_oauth_beta(joined or None)]
    else:
        assert out.getall("anthropic-beta", []) == ([joined] if joined else [])
    kept = [
        (k, v) for k, v in client if k.lower() in ("x-custom", "content-type", "x-claude-code-session-id")
    ]
    assert [
        (k, v)
        for k, v in out.items()
        if k.lower() in ("x-custom", "content-type", "x-claude-code-session-id")
    ] == kept
