"""HTTP Signatures (draft-cavage, Mastodon profile): the draft's own vectors, and interoperability
both ways with an independent implementation (`pyhttpsig`, built on pycryptodome, not on
`cryptography`): what it signs we verify, what we sign it verifies."""

from __future__ import annotations

import base64
import json

import httpsig as oracle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.forgefed import httpsig
from tests.forgefed.keys import DRAFT_PRIVATE_PEM, rsa_pem

DATE = "Sun, 05 Jan 2014 21:31:40 GMT"
NOW = 1388957500.0  # 21:31:40 on that day
BODY = b'{"hello": "world"}'
DRAFT_HEADERS = {
    "host": "example.com",
    "date": DATE,
    "content-type": "application/json",
    "digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "content-length": "18",
}
VECTORS = [
    (
        ("date",),
        "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25Wq"
        "S+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM=",
    ),
    (
        ("(request-target)", "host", "date"),
        "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEd"
        "KFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=",
    ),
    (
        ("(request-target)", "host", "date", "content-type", "digest", "content-length"),
        "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv12"
        "0V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=",
    ),
]


def draft_key() -> httpsig.PrivateKey:
    return httpsig.load_private_key(DRAFT_PRIVATE_PEM)


def test_digest_and_date_match_the_draft() -> None:
    assert httpsig.body_digest(BODY) == DRAFT_HEADERS["digest"]
    assert httpsig.http_date(NOW) == DATE


@pytest.mark.parametrize(("names", "expected"), VECTORS)
def test_draft_vectors_sign_and_verify(names: tuple[str, ...], expected: str) -> None:
    key = draft_key()
    message = httpsig.signing_string(names, "POST", "/foo?param=value&pet=dog", DRAFT_HEADERS).encode()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    assert isinstance(key, rsa.RSAPrivateKey)
    assert base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode() == expected
    params = httpsig.parse_signature(
        f'keyId="Test",algorithm="rsa-sha256",headers="{" ".join(names)}",signature="{expected}"'
    )
    httpsig.verify_signature(params, key.public_key(), message)


def test_the_full_draft_request_verifies_and_a_changed_body_does_not() -> None:
    names, signature = VECTORS[2]
    params = httpsig.parse_signature(
        f'keyId="Test",algorithm="rsa-sha256",headers="{" ".join(names)}",signature="{signature}"'
    )
    public = draft_key().public_key()
    target = "/foo?param=value&pet=dog"
    httpsig.verify_request(params, public, "POST", target, DRAFT_HEADERS, BODY, NOW)
    with pytest.raises(httpsig.SignatureError, match="Digest does not match"):
        httpsig.verify_request(params, public, "POST", target, DRAFT_HEADERS, b'{"hello": "w0rld"}', NOW)
    with pytest.raises(httpsig.SignatureError, match="does not verify"):
        httpsig.verify_request(params, public, "POST", "/foo?param=other", DRAFT_HEADERS, BODY, NOW)


@pytest.mark.parametrize(
    ("now", "problem"),
    [
        (NOW + 12 * 3600 + 60, "too old"),
        (NOW - 3600 - 60, "in the future"),
    ],
)
def test_stale_or_future_dates_are_refused(now: float, problem: str) -> None:
    names, signature = VECTORS[2]
    params = httpsig.parse_signature(f'keyId="T",headers="{" ".join(names)}",signature="{signature}"')
    with pytest.raises(httpsig.SignatureError, match=problem):
        httpsig.verify_request(
            params, draft_key().public_key(), "POST", "/foo?param=value&pet=dog", DRAFT_HEADERS, BODY, now
        )


def test_a_signature_that_leaves_out_the_digest_or_target_is_refused() -> None:
    signature = VECTORS[0][1]  # signs only `date`
    params = httpsig.parse_signature(f'keyId="T",headers="date",signature="{signature}"')
    with pytest.raises(httpsig.SignatureError, match=r"does not cover \(request-target\), host, digest"):
        httpsig.verify_request(params, draft_key().public_key(), "POST", "/foo", DRAFT_HEADERS, BODY, NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        'keyId="k",algorithm="rsa-sha256"',
        'keyId="k",signature="not base64!"',
        'keyId="k" signature="AAAA"',
        'keyId="k",signature="AAAA",extra',
    ],
)
def test_malformed_signature_headers_are_clear_errors(header: str) -> None:
    with pytest.raises(httpsig.SignatureError):
        httpsig.parse_signature(header)


def test_unknown_algorithms_are_refused() -> None:
    params = httpsig.parse_signature('keyId="k",algorithm="hmac-sha256",signature="AAAA"')
    with pytest.raises(httpsig.SignatureError, match="not accepted"):
        httpsig.verify_signature(params, draft_key().public_key(), b"x")


def oracle_signed(key_pem: str, method: str, path: str, host: str, body: bytes | None) -> dict[str, str]:
    headers = {"Host": host, "Date": httpsig.http_date(NOW)}
    names = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = httpsig.body_digest(body)
        names.append("digest")
    signer = oracle.HeaderSigner(
        "https://remote.example/actor#main-key",
        key_pem,
        algorithm="rsa-sha256",
        headers=names,
        sign_header="signature",
    )
    return dict(signer.sign(headers, host=host, method=method, path=path))


def test_we_verify_what_the_independent_implementation_signs() -> None:
    pem = rsa_pem("oracle")
    public = httpsig.load_private_key(pem).public_key()
    body = json.dumps({"type": "Follow", "id": "https://remote.example/f/1"}).encode()
    signed = oracle_signed(pem, "POST", "/inbox/code", "router.example", body)
    params = httpsig.parse_signature(signed["signature"])
    assert params.key_id == "https://remote.example/actor#main-key"
    httpsig.verify_request(params, public, "POST", "/inbox/code", signed, body, NOW)
    with pytest.raises(httpsig.SignatureError):
        httpsig.verify_request(params, public, "POST", "/inbox/code", signed, body + b" ", NOW)
    other = httpsig.load_private_key(rsa_pem("someone else")).public_key()
    with pytest.raises(httpsig.SignatureError, match="does not verify"):
        httpsig.verify_request(params, other, "POST", "/inbox/code", signed, body, NOW)


def oracle_verifies(public_pem: str, method: str, path: str, headers: dict[str, str]) -> bool:
    required = ["(request-target)", "host", "date"] + (["digest"] if method == "POST" else [])
    verifier = oracle.HeaderVerifier(
        headers, public_pem, required_headers=required, method=method, path=path, sign_header="signature"
    )
    return bool(verifier.verify())


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_independent_implementation_verifies_what_we_sign(method: str) -> None:
    key = httpsig.load_private_key(rsa_pem("ours"))
    body = b'{"type":"Offer"}' if method == "POST" else None
    added = httpsig.sign_request(
        key,
        "https://router.example/actor/code#main-key",
        method,
        "/inbox?x=1",
        "tracker.example:8443",
        body,
        NOW,
    )
    headers = {"Host": "tracker.example:8443", **added}
    assert oracle_verifies(httpsig.public_pem(key), method, "/inbox?x=1", headers)
    assert not oracle_verifies(httpsig.public_pem(key), method, "/inbox?x=2", headers)


@settings(max_examples=25, deadline=None)
@given(
    path=st.from_regex(r"/[a-z0-9/_.-]{0,30}(\?[a-z0-9=&]{0,20})?", fullmatch=True),
    body=st.binary(max_size=300),
)
def test_any_request_we_sign_verifies_with_us_and_with_the_oracle(path: str, body: bytes) -> None:
    key = httpsig.load_private_key(rsa_pem("ours"))
    added = httpsig.sign_request(key, "k", "POST", path, "h.example", body, NOW)
    headers = {"Host": "h.example", **added}
    params = httpsig.parse_signature(added["Signature"])
    httpsig.verify_request(params, key.public_key(), "POST", path, headers, body, NOW + 5)
    assert oracle_verifies(httpsig.public_pem(key), "POST", path, headers)
