"""MPP pure parts: the spec's vectors, the HMAC binding, auth-params, and credential assessment."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mpp.challenge import (
    Challenge,
    Charge,
    authentic,
    b64url,
    b64url_decode,
    bind,
    issue,
    jcs,
    parse_auth_params,
)
from gateway.mpp.credential import PROBLEM_BASE, Admitted, Kind, Problem, assess, payment_values

SECRET = b"test-secret"
CHARGE = Charge("1", "usd", "acct_123")
NOW = 1_767_225_000.0  # 2025-12-31T23:50:00Z, ten minutes before the vector's expiry


def test_the_notes_vectors() -> None:
    assert CHARGE.request_b64() == "eyJhbW91bnQiOiIxIiwiY3VycmVuY3kiOiJ1c2QiLCJyZWNpcGllbnQiOiJhY2N0XzEyMyJ9"
    made = bind(SECRET, "router.example", "stripe", "charge", CHARGE.request_b64(), "2026-01-01T00:00:00Z")
    assert made == "bi4nvfYGmeEdm69K_0HMMmmnyt0J8d6Q_gxtj8Mcn7g"
    draft = "eyJhbW91bnQiOiIxMDAwIiwiY3VycmVuY3kiOiJVU0QiLCJyZWNpcGllbnQiOiJhY2N0XzEyMyJ9"
    assert json.loads(b64url_decode(draft)) == {"amount": "1000", "currency": "USD", "recipient": "acct_123"}
    assert b64url(jcs({"recipient": "acct_123", "currency": "USD", "amount": "1000"})) == draft


def test_the_header_round_trips_through_an_auth_params_parser() -> None:
    challenge = issue(SECRET, 'realm "quoted"\\', "test", CHARGE, NOW, 300)
    header = challenge.header()
    assert header.startswith("Payment id=") and 'intent="charge"' in header
    params = parse_auth_params(header.removeprefix("Payment "))
    assert Challenge(**params) == challenge and authentic(SECRET, Challenge(**params))
    assert params["expires"] == "2025-12-31T23:55:00Z"
    assert parse_auth_params('a=b, c="d, e" ,f="\\"x\\""') == {"a": "b", "c": "d, e", "f": '"x"'}
    for bad in ("a", 'a="open', "=b"):
        with pytest.raises(ValueError):
            parse_auth_params(bad)


@given(
    st.sampled_from(["realm", "method", "intent", "request", "expires", "digest", "opaque"]),
    st.text(max_size=8),
)
def test_changing_any_bound_parameter_breaks_the_id(name: str, suffix: str) -> None:
    challenge = issue(SECRET, "r.example", "test", CHARGE, NOW, 300)
    altered = Challenge(**{**challenge.__dict__, name: getattr(challenge, name) + (suffix or "x")})
    assert not authentic(SECRET, altered)
    assert not authentic(b"another secret", challenge)


def credential(challenge: Challenge | dict[str, str], payload: object = None, **extra: object) -> str:
    fields = challenge.params() if isinstance(challenge, Challenge) else challenge
    doc = {"challenge": fields, "payload": {"proof": "p"} if payload is None else payload, **extra}
    return b64url(json.dumps(doc).encode())


def outcome(value: str | list[str], now: float = NOW) -> Problem | Admitted | None:
    values = [value] if isinstance(value, str) else value
    return assess(values, SECRET, "r.example", CHARGE, {"test"}, now)


GOOD = issue(SECRET, "r.example", "test", CHARGE, NOW, 300)


@pytest.mark.parametrize(
    ("values", "kind", "status"),
    [
        ([credential(GOOD), credential(GOOD)], Kind.MALFORMED_CREDENTIAL, 400),
        ("not-base64!", Kind.MALFORMED_CREDENTIAL, 402),
        (b64url(b"[1]"), Kind.MALFORMED_CREDENTIAL, 402),
        (credential({"id": GOOD.id}), Kind.MALFORMED_CREDENTIAL, 402),
        (credential(GOOD, payload="proof"), Kind.MALFORMED_CREDENTIAL, 402),
        (credential({**GOOD.params(), "request": CHARGE.request_b64()[:-2]}), Kind.INVALID_CHALLENGE, 402),
        (credential({**GOOD.params(), "expires": "2099-01-01T00:00:00Z"}), Kind.INVALID_CHALLENGE, 402),
        (credential(issue(SECRET, "elsewhere", "test", CHARGE, NOW, 300)), Kind.INVALID_CHALLENGE, 402),
        (credential(issue(SECRET, "r.example", "test", Charge("2", "usd", "acct_123"), NOW, 300)),
         Kind.INVALID_CHALLENGE, 402),
        (credential(issue(SECRET, "r.example", "test", CHARGE, NOW - 600, 300)), Kind.PAYMENT_EXPIRED, 402),
        (credential(issue(SECRET, "r.example", "stripe", CHARGE, NOW, 300)), Kind.METHOD_UNSUPPORTED, 400),
    ],
    ids=["two", "not-b64", "not-object", "no-fields", "payload-string", "tampered-request", "tampered-expiry",
         "other-realm", "other-charge", "expired", "other-method"],
)  # fmt: skip
def test_bad_credentials_get_their_problem_type(values: str | list[str], kind: Kind, status: int) -> None:
    result = outcome(values)
    assert isinstance(result, Problem), result
    assert (result.kind, result.status) == (kind, status)
    body = result.body()
    assert body["type"] == PROBLEM_BASE + kind.value and body["status"] == status and body["detail"]


def test_a_good_credential_is_admitted_and_no_credential_is_none() -> None:
    result = outcome(credential(GOOD, source="did:example:alice"))
    assert isinstance(result, Admitted) and result.challenge == GOOD and result.source == "did:example:alice"
    assert outcome([]) is None
    assert payment_values(["Bearer la_sk_x", "  payment abc ", "Payment  def"]) == ["abc", "def"]
