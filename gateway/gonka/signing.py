"""Gonka request signing: secp256k1 ECDSA over SHA256(hex(sha256(body)) ‖ timestamp_ns ‖ transfer address).

Pure (no I/O). The node checks the `Authorization` header (base64 of the 64-byte r‖s signature,
low-S) against the requester's on-chain public key; `X-Requester-Address` names the requester and
`X-Timestamp` is Unix time in nanoseconds. The signed bytes must be exactly the body sent, so the
caller serialises once and sends those bytes. Nonces are deterministic (RFC 6979), which makes the
signature reproducible from a test vector.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from gateway.gonka.address import address_of

CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER = CURVE_ORDER // 2


class GonkaKeyError(ValueError):
    """The configured private key is not a 32-byte secp256k1 scalar (message never holds the key)."""


@dataclass(frozen=True)
class GonkaSigner:
    """A requester: its private key (never printed), compressed public key and Gonka address."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    public_key: bytes
    address: str

    def sign(self, body: bytes, timestamp_ns: int, transfer_address: str) -> str:
        """The `Authorization` value for sending `body` at `timestamp_ns` to `transfer_address`."""
        message = signature_input(body, timestamp_ns, transfer_address)
        der = self.key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        if s > HALF_ORDER:  # Cosmos accepts only the low-S form
            s = CURVE_ORDER - s
        return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode("ascii")

    def headers(self, body: bytes, timestamp_ns: int, transfer_address: str) -> dict[str, str]:
        return {
            "Authorization": self.sign(body, timestamp_ns, transfer_address),
            "X-Requester-Address": self.address,
            "X-Timestamp": str(timestamp_ns),
        }


def signer_from_hex(private_key_hex: str) -> GonkaSigner:
    """Parse `GONKA_PRIVATE_KEY` (64 hex digits, `0x` optional, surrounding space ignored)."""
    text = private_key_hex.strip().removeprefix("0x").removeprefix("0X")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise GonkaKeyError("the Gonka private key is not hexadecimal") from None
    if len(raw) != 32:
        raise GonkaKeyError(f"the Gonka private key must be 32 bytes (64 hex digits), not {len(raw)}")
    scalar = int.from_bytes(raw, "big")
    if not 0 < scalar < CURVE_ORDER:
        raise GonkaKeyError("the Gonka private key is outside the secp256k1 range")
    key = ec.derive_private_key(scalar, ec.SECP256K1())
    public = compressed(key.public_key())
    return GonkaSigner(key, public, address_of(public))


def compressed(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def signature_input(body: bytes, timestamp_ns: int, transfer_address: str) -> bytes:
    """The ASCII string that is hashed and signed: hex sha256(body), the timestamp, the address."""
    return f"{hashlib.sha256(body).hexdigest()}{timestamp_ns}{transfer_address}".encode()


def verify(
    public_key: bytes, authorization: str, body: bytes, timestamp_ns: int, transfer_address: str
) -> bool:
    """The node's check: a 64-byte low-S r‖s signature by `public_key` (33 bytes, compressed)."""
    try:
        raw = base64.b64decode(authorization, validate=True)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), public_key)
    except (binascii.Error, ValueError):
        return False
    if len(raw) != 64:
        return False
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    if not (0 < r < CURVE_ORDER and 0 < s <= HALF_ORDER):
        return False
    try:
        key.verify(
            encode_dss_signature(r, s),
            signature_input(body, timestamp_ns, transfer_address),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature:
        return False
    return True
