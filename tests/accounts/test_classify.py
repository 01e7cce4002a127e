"""Outcome classification: status codes, retry-after, unified quota headers, in-stream errors."""

from __future__ import annotations

import pytest

from gateway.accounts.classify import (
    OutcomeKind,
    Quota,
    QuotaWindow,
    classify_connection_failure,
    classify_response,
    classify_stream_error,
    parse_quota,
    parse_retry_after,
)

NOW = 1_800_000_000.0
U = "anthropic-ratelimit-unified-"


@pytest.mark.parametrize(
    ("status", "headers", "kind", "retry_after"),
    [
        (200, {}, OutcomeKind.OK, None),
        (400, {}, OutcomeKind.CLIENT_ERROR, None),
        (404, {}, OutcomeKind.CLIENT_ERROR, None),
        (413, {}, OutcomeKind.CLIENT_ERROR, None),
        (429, {}, OutcomeKind.RATE_LIMITED, None),
        (429, {"retry-after": "17"}, OutcomeKind.RATE_LIMITED, 17.0),
        (429, {"Retry-After": "2.5"}, OutcomeKind.RATE_LIMITED, 2.5),
        (429, {"retry-after-ms": "1500", "retry-after": "9"}, OutcomeKind.RATE_LIMITED, 1.5),
        (429, {"retry-after": "soon"}, OutcomeKind.RATE_LIMITED, None),
        (429, {"retry-after": "-3"}, OutcomeKind.RATE_LIMITED, None),
        (401, {}, OutcomeKind.UNAUTHORIZED, None),
        (529, {}, OutcomeKind.OVERLOADED, None),
        (500, {}, OutcomeKind.SERVER_ERROR, None),
        (502, {}, OutcomeKind.SERVER_ERROR, None),
        (503, {"retry-after": "4"}, OutcomeKind.SERVER_ERROR, 4.0),
    ],
)
def test_status_table(
    status: int, headers: dict[str, str], kind: OutcomeKind, retry_after: float | None
) -> None:
    verdict = classify_response(status, headers, NOW)
    assert verdict.kind is kind
    assert verdict.retry_after == retry_after


def test_retry_after_http_date() -> None:
    assert parse_retry_after({"retry-after": "Thu, 15 Jan 2027 08:00:30 GMT"}, 1_800_000_000.0) == 30.0


def test_quota_5h_exhausted_is_told_apart_from_throttling() -> None:
    headers = {
        f"{U}status": "rejected",
        f"{U}5h-status": "rejected",
        f"{U}5h-reset": str(int(NOW) + 3600),
        f"{U}7d-status": "allowed",
        f"{U}7d-reset": str(int(NOW) + 86400),
    }
    verdict = classify_response(429, headers, NOW)
    assert verdict.kind is OutcomeKind.QUOTA_EXHAUSTED
    assert verdict.quota == Quota(QuotaWindow.FIVE_HOUR, NOW + 3600)
    assert "5h" in verdict.detail


def test_weekly_and_5h_both_exhausted_later_reset_wins() -> None:
    headers = {
        f"{U}5h-status": "rejected",
        f"{U}5h-reset": str(int(NOW) + 3600),
        f"{U}7d-status": "rejected",
        f"{U}7d-reset": str(int(NOW) + 5 * 86400),
    }
    assert parse_quota(headers) == Quota(QuotaWindow.WEEKLY, NOW + 5 * 86400)


@pytest.mark.parametrize(
    ("claim", "window"),
    [
        ("five_hour", QuotaWindow.FIVE_HOUR),
        ("seven_day", QuotaWindow.WEEKLY),
        ("seven_day_opus", QuotaWindow.WEEKLY),
        ("", QuotaWindow.FIVE_HOUR),
    ],
)
def test_overall_rejection_uses_representative_claim(claim: str, window: QuotaWindow) -> None:
    headers = {f"{U}status": "rejected", f"{U}representative-claim": claim, f"{U}reset": str(int(NOW) + 60)}
    assert parse_quota(headers) == Quota(window, NOW + 60)


@pytest.mark.parametrize("status", ["allowed", "allowed_warning", ""])
def test_quota_not_exhausted(status: str) -> None:
    headers = {f"{U}status": status, f"{U}5h-status": status, f"{U}5h-reset": "1800000000"}
    assert parse_quota(headers) is None
    assert classify_response(429, headers, NOW).kind is OutcomeKind.RATE_LIMITED


def test_reset_in_rfc3339_and_milliseconds() -> None:
    assert parse_quota({f"{U}5h-status": "rejected", f"{U}5h-reset": "2027-01-15T08:00:00Z"}) == Quota(
        QuotaWindow.FIVE_HOUR, 1_800_000_000.0
    )
    assert parse_quota({f"{U}5h-status": "rejected", f"{U}5h-reset": "1800000000000"}) == Quota(
        QuotaWindow.FIVE_HOUR, 1_800_000_000.0
    )
    assert parse_quota({f"{U}5h-status": "rejected", f"{U}5h-reset": "garbage"}) == Quota(
        QuotaWindow.FIVE_HOUR, None
    )


def test_success_can_announce_an_exhausted_window() -> None:
    verdict = classify_response(200, {f"{U}5h-status": "rejected", f"{U}5h-reset": str(int(NOW) + 10)}, NOW)
    assert verdict.kind is OutcomeKind.OK
    assert verdict.quota is not None
    assert not verdict.account_failed


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [
        ("overloaded_error", OutcomeKind.OVERLOADED),
        ("rate_limit_error", OutcomeKind.RATE_LIMITED),
        ("api_error", OutcomeKind.SERVER_ERROR),
        ("invalid_request_error", OutcomeKind.CLIENT_ERROR),
        (None, OutcomeKind.CLIENT_ERROR),
    ],
)
def test_stream_errors(error_type: str | None, kind: OutcomeKind) -> None:
    assert classify_stream_error(error_type).kind is kind


def test_connection_failure_is_an_account_failure() -> None:
    verdict = classify_connection_failure("ClientConnectorError")
    assert verdict.kind is OutcomeKind.CONNECTION_FAILED
    assert verdict.account_failed
