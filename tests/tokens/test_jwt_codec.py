"""The `la_sk_` JWT format and the seed's validation order and edge cases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.tokens import jwt_codec
from gateway.tokens.jwt_codec import Claims, TokenFormatError, TokenProblem

SECRET = "test-secret"
NOW = 1_781_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seed_style_token(claims: dict[str, object], secret: str = SECRET, header: bytes | None = None) -> str:
    """A token built independently of pyjwt, the way the seed's jsonwebtoken crate lays it out."""
    head = header or b'{"typ":"JWT","alg":"HS256"}'
    signing_input = f"{b64(head)}.{b64(json.dumps(claims, separators=(',', ':')).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"la_sk_{signing_input}.{b64(signature)}"


def segments(token: str) -> list[bytes]:
    return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token[6:].split(".")[:2]]


def test_issued_tokens_have_the_seed_header_and_claims_in_order() -> None:
    claims = Claims(sub="0b7a1d2e-5c1f-4c3e-9a55-1f0e7d3c2b10", iat=NOW, exp=NOW + 3600, label="ops")
    token = jwt_codec.encode(claims, SECRET)
    assert token.startswith("la_sk_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.")  # the seed README's prefix
    header, payload = segments(token)
    assert header == b'{"typ":"JWT","alg":"HS256"}'
    # The seed's claims in the seed's order, then the key id of the signing secret.
    assert list(json.loads(payload)) == ["sub", "iat", "exp", "label", "kid"]
    assert json.loads(payload)["kid"] == jwt_codec.kid_for(SECRET)
    assert jwt_codec.decode(token, SECRET, now=NOW) == claims


def test_a_token_signed_like_the_seed_verifies() -> None:
    token = seed_style_token({"sub": "abc", "iat": NOW, "exp": NOW + 60, "label": "from-seed"})
    assert jwt_codec.decode(token, SECRET, now=NOW) == Claims(
        sub="abc", iat=NOW, exp=NOW + 60, label="from-seed"
    )


def test_account_claim_is_optional_and_kept() -> None:
    claims = Claims(sub="s", iat=NOW, exp=NOW + 10, label="", account="primary")
    assert jwt_codec.decode(jwt_codec.encode(claims, SECRET), SECRET, now=NOW).account == "primary"


def problem_of(token: str, now: float = NOW) -> tuple[TokenProblem, str]:
    with pytest.raises(TokenFormatError) as info:
        jwt_codec.decode(token, SECRET, now=now)
    return info.value.problem, info.value.message


def test_expiry_has_the_seeds_sixty_second_leeway() -> None:
    token = jwt_codec.encode(Claims(sub="s", iat=NOW - 3600, exp=NOW), SECRET)
    assert jwt_codec.decode(token, SECRET, now=NOW + 60).sub == "s"  # within leeway: still valid
    assert problem_of(token, now=NOW + 61) == (TokenProblem.EXPIRED, "Token has expired")


@pytest.mark.parametrize(
    ("make", "problem", "message_start"),
    [
        (
            lambda: jwt_codec.encode(Claims("s", NOW, NOW + 60), SECRET)[6:],
            TokenProblem.PREFIX,
            "Token must start with 'la_sk_' prefix",
        ),
        (lambda: "sk-ant-api03-whatever", TokenProblem.PREFIX, "Token must start with 'la_sk_' prefix"),
        (
            lambda: jwt_codec.encode(Claims("s", NOW, NOW + 60), "another-secret"),
            TokenProblem.INVALID,
            "Invalid token: Signature verification failed",
        ),
        (
            # Forged with a key long enough for HS512 (PyJWT warns otherwise); the alg alone is refused.
            lambda: "la_sk_" + jwt.encode({"sub": "s", "exp": NOW + 60}, SECRET * 7, algorithm="HS512"),
            TokenProblem.INVALID,
            "Invalid token: The specified alg value is not allowed",
        ),
        (
            lambda: "la_sk_" + jwt.encode({"sub": "s", "exp": NOW + 60}, None, algorithm="none"),
            TokenProblem.INVALID,
            "Invalid token: The specified alg value is not allowed",
        ),
        (
            lambda: seed_style_token({"sub": "s", "iat": NOW, "label": ""}),
            TokenProblem.INVALID,
            'Invalid token: Token is missing the "exp" claim',
        ),
        (
            lambda: seed_style_token({"sub": 7, "iat": NOW, "exp": NOW + 60}),
            TokenProblem.INVALID,
            "Invalid token: ",
        ),
        (
            lambda: seed_style_token({"sub": "s", "iat": NOW, "exp": "tomorrow"}),
            TokenProblem.INVALID,
            "Invalid token: ",
        ),
        (lambda: "la_sk_not.a.jwt", TokenProblem.INVALID, "Invalid token: "),
        (lambda: "la_sk_", TokenProblem.INVALID, "Invalid token: "),
    ],
)
def test_bad_tokens_are_rejected_with_the_seeds_messages(make, problem, message_start) -> None:  # type: ignore[no-untyped-def]
    got_problem, message = problem_of(make())
    assert got_problem is problem
    assert message.startswith(message_start)
    assert SECRET not in message


def test_hs256_token_with_alg_header_swapped_to_none_is_rejected() -> None:
    forged = seed_style_token({"sub": "s", "iat": NOW, "exp": NOW + 60}, header=b'{"typ":"JWT","alg":"none"}')
    assert problem_of(forged)[0] is TokenProblem.INVALID


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer la_sk_a", "x-api-key": "la_sk_b"}, "la_sk_a"),  # Bearer wins
        ({"x-api-key": "la_sk_b"}, "la_sk_b"),
        ({"authorization": "Bearer la_sk_a"}, "la_sk_a"),  # header names are case-insensitive
        ({"Authorization": "bearer la_sk_a", "X-Api-Key": "la_sk_b"}, "la_sk_b"),  # scheme is exact
        ({"Authorization": "Basic dXNlcjpwYXNz", "x-api-key": "la_sk_b"}, "la_sk_b"),
        ({"Authorization": "Bearer "}, ""),  # present but empty: fails the prefix check later
    ],
)
def test_credential_extraction_order(headers: dict[str, str], expected: str) -> None:
    assert jwt_codec.extract_credential(headers) == expected


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}, {"Authorization": "Basic abc"}])
def test_missing_credential(headers: dict[str, str]) -> None:
    with pytest.raises(TokenFormatError) as info:
        jwt_codec.extract_credential(headers)
    assert info.value.message == "Missing Authorization Bearer token or x-api-key"


@given(st.text(), st.none() | st.text(min_size=1))
def test_any_label_and_account_survive_signing(label: str, account: str | None) -> None:
    claims = Claims(sub="id", iat=NOW, exp=NOW + 1, label=label, account=account)
    assert jwt_codec.decode(jwt_codec.encode(claims, SECRET), SECRET, now=NOW) == claims
