"""Gonka request signing: the computed test vector, the node's verification rule, and key handling."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.gonka.address import address_of, bech32_encode, is_address, ripemd160_pure
from gateway.gonka.endpoints import EndpointError, parse_endpoints
from gateway.gonka.signing import CURVE_ORDER, GonkaKeyError, signature_input, signer_from_hex, verify

# BIP32 test vector 1's master key; the transfer address is that of private key 0x…02.
KEY = "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"
PUBKEY = "0339a36013301597daef41fbe593a02cc513d0b55527ec2df1050e2e8ff49c85c2"
REQUESTER = "gonka1x3ppj0smkuy3d6g525sh9n2w9k7fm7q3q7kkg8"
TRANSFER = "gonka1q6hag67dl53wl99vzg42z8eyzfz2xlkvqkpz3w"
BODY = (
    b'{"model":"Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",'
    b'"messages":[{"role":"user","content":"Hello"}],"max_tokens":16}'
)
STAMP = 1700000000000000000
SIGNATURE = "BGd94v68RY0L0BnMFxA57F2Op4SwD0lSemANguTkM7BUYgFb0Kki/7nW0SKOlEGK+lhn5pPiWWQe41+67ourwQ=="


def test_the_vector_is_reproduced_exactly() -> None:
    signer = signer_from_hex(KEY)
    assert signer.public_key.hex() == PUBKEY
    assert signer.address == REQUESTER
    assert signer_from_hex("0x" + "00" * 31 + "02").address == TRANSFER
    digest = "40bf085fbfb292df04400766853f54e7659db035bcd804c26780e305bfd1e186"
    assert hashlib.sha256(BODY).hexdigest() == digest
    assert signature_input(BODY, STAMP, TRANSFER) == (
        b"40bf085fbfb292df04400766853f54e7659db035bcd804c26780e305bfd1e186"
        b"1700000000000000000gonka1q6hag67dl53wl99vzg42z8eyzfz2xlkvqkpz3w"
    )
    assert signer.headers(BODY, STAMP, TRANSFER) == {
        "Authorization": SIGNATURE,
        "X-Requester-Address": REQUESTER,
        "X-Timestamp": "1700000000000000000",
    }
    assert verify(bytes.fromhex(PUBKEY), SIGNATURE, BODY, STAMP, TRANSFER)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"body": BODY + b" "}, "another body"),
        ({"stamp": STAMP + 1}, "another timestamp"),
        ({"transfer": REQUESTER}, "another transfer address"),
        ({"key": bytes.fromhex(signer_from_hex("11" * 32).public_key.hex())}, "another key"),
        ({"signature": "not base64!"}, "not base64"),
        ({"signature": base64.b64encode(b"\x01" * 63).decode()}, "63 bytes"),
    ],
)
def test_verification_refuses_anything_else(change: dict[str, object], why: str) -> None:
    args: dict[str, object] = {
        "key": bytes.fromhex(PUBKEY), "signature": SIGNATURE, "body": BODY, "stamp": STAMP,
        "transfer": TRANSFER,
    }  # fmt: skip
    args.update(change)
    assert not verify(args["key"], args["signature"], args["body"], args["stamp"], args["transfer"]), why  # type: ignore[arg-type]


def test_a_high_s_signature_is_refused_like_cosmos_does() -> None:
    raw = base64.b64decode(SIGNATURE)
    s = int.from_bytes(raw[32:], "big")
    high = base64.b64encode(raw[:32] + (CURVE_ORDER - s).to_bytes(32, "big")).decode()
    assert not verify(bytes.fromhex(PUBKEY), high, BODY, STAMP, TRANSFER)


@settings(max_examples=25, deadline=None)
@given(key=st.integers(1, CURVE_ORDER - 1), body=st.binary(max_size=200), stamp=st.integers(0, 2**63))
def test_every_signature_is_low_s_and_verifies(key: int, body: bytes, stamp: int) -> None:
    signer = signer_from_hex(f"{key:064x}")
    signature = signer.sign(body, stamp, TRANSFER)
    assert int.from_bytes(base64.b64decode(signature)[32:], "big") <= CURVE_ORDER // 2
    assert verify(signer.public_key, signature, body, stamp, TRANSFER)
    assert is_address(signer.address) and signer.address == address_of(signer.public_key)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zz" * 32, "not hexadecimal"),
        ("ab" * 31, "32 bytes (64 hex digits), not 31"),
        ("00" * 32, "outside the secp256k1 range"),
        (f"{CURVE_ORDER:064x}", "outside the secp256k1 range"),
    ],
)
def test_bad_keys_are_named_without_echoing_them(text: str, message: str) -> None:
    with pytest.raises(GonkaKeyError) as caught:
        signer_from_hex(text)
    assert message in str(caught.value) and text not in str(caught.value)


def test_pure_ripemd160_matches_the_reference_vectors() -> None:
    # The published RIPEMD-160 test vectors (used when OpenSSL no longer offers the hash).
    assert ripemd160_pure(b"").hex() == "9c1185a5c5e9fc54612808977ee8f548b2258d31"
    assert ripemd160_pure(b"abc").hex() == "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"
    multi_block = b"1234567890" * 8
    assert ripemd160_pure(multi_block).hex() == "9b752e45573d4b39f4dbd3323cab82bf63326bfb"
    assert ripemd160_pure(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hex() == (
        "12a053384a9c0c88e405a06c27dcf49ada62eb2b"
    )
    assert bech32_encode("gonka", bytes(20)).startswith("gonka1qqqq")


def test_endpoints_text_is_read_as_the_sdks_read_it() -> None:
    found = parse_endpoints(f"http://127.0.0.1:1;{TRANSFER}, https://n.example/v1/;{REQUESTER}")
    assert [(e.url, e.transfer_address) for e in found] == [
        ("http://127.0.0.1:1/v1", TRANSFER),
        ("https://n.example/v1", REQUESTER),
    ]
    for bad in ("", "http://x", f"ftp://x;{TRANSFER}", "http://x;gonka1nope"):
        with pytest.raises(EndpointError):
            parse_endpoints(bad)
