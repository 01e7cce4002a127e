"""The OAuth refresh exchange as a table (terminal vs retryable failures, rotation) and the log
redaction filter."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gateway.credentials.files import OAuthTokens
from gateway.credentials.refresh import RefreshError, parse_refresh_response, refresh_request_body
from gateway.logging import REDACTED, RedactionFilter, configure_logging, level_from, redact

OLD = OAuthTokens("sk-ant-oat01-old", "sk-ant-ort01-old", 1)
NOW = 1_700_000_000_000


def test_refresh_request_is_the_claude_code_json_grant() -> None:
    assert json.loads(refresh_request_body("sk-ant-ort01-x")) == {
        "grant_type": "refresh_token",
        "refresh_token": "sk-ant-ort01-x",
        "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
    }


def test_success_rotates_both_tokens_and_sets_expiry() -> None:
    body = json.dumps({"access_token": "A2", "refresh_token": "R2", "expires_in": 28800}).encode()
    new = parse_refresh_response(200, body, OLD, NOW)
    assert (new.access_token, new.refresh_token, new.expires_at_ms) == ("A2", "R2", NOW + 28_800_000)


def test_success_without_a_new_refresh_token_keeps_the_old_one() -> None:
    new = parse_refresh_response(200, json.dumps({"access_token": "A2"}).encode(), OLD, NOW)
    assert new.refresh_token == OLD.refresh_token and new.expires_at_ms is None


@pytest.mark.parametrize(
    ("status", "body", "terminal"),
    [
        (400, {"error": "invalid_grant"}, True),
        (401, {"error": "invalid_client"}, True),
        (403, {"error": {"type": "unauthorized_client"}}, True),
        (400, {"error": "invalid_request"}, False),
        (429, {"error": "rate_limited"}, False),
        (500, None, False),
        (503, {"error": "invalid_grant"}, False),
        (200, {"token_type": "Bearer"}, False),
    ],
)
def test_failures_say_whether_retrying_can_help(status: int, body: object, terminal: bool) -> None:
    raw = json.dumps(body).encode() if body is not None else b"<html>oops</html>"
    with pytest.raises(RefreshError) as caught:
        parse_refresh_response(status, raw, OLD, NOW)
    assert caught.value.terminal is terminal
    assert "sk-ant" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer sk-ant-oat01-abcdefgh",
        "x-api-key=la_sk_eyJhbGciOi.eyJzdWIi.sig",
        "key sk-ant-api03-AAAABBBB",
        "the secret is hunter2hunter2",
    ],
)
def test_redact_masks_credentials_and_known_secrets(text: str) -> None:
    out = redact(text, ["hunter2hunter2"])
    assert REDACTED in out
    for leaked in ("sk-ant-oat01-abcdefgh", "la_sk_eyJ", "sk-ant-api03-AAAA", "hunter2hunter2"):
        assert leaked not in out


def test_filter_redacts_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    handler = configure_logging(logging.DEBUG, secrets=["TOPSECRET-VALUE"], stream=stream)
    log = logging.getLogger("tests.redaction")
    try:
        log.debug("token %s and %s", "la_sk_abc.def.ghi", "TOPSECRET-VALUE")
        try:
            raise ValueError("Bearer sk-ant-oat01-insideexception")
        except ValueError:
            log.exception("failed")
    finally:
        root.removeHandler(handler)
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
    text = stream.getvalue()
    assert "la_sk_abc" not in text and "TOPSECRET-VALUE" not in text and "insideexception" not in text
    assert text.count(REDACTED) >= 3
    assert isinstance(handler.filters[0], RedactionFilter)


@pytest.mark.parametrize(
    ("verbose", "env", "level"),
    [
        (True, {}, logging.DEBUG),
        (False, {}, logging.INFO),
        (False, {"RUST_LOG": "debug"}, logging.DEBUG),
        (False, {"RUST_LOG": "link_assistant_router=warn"}, logging.WARNING),
        (False, {"LOG_LEVEL": "error", "RUST_LOG": "debug"}, logging.ERROR),
    ],
)
def test_log_level(verbose: bool, env: dict[str, str], level: int) -> None:
    assert level_from(verbose, env) == level
