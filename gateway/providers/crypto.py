"""Encryption of inline provider API keys, byte-compatible with the seed's providers.lenv.

Key = SHA-256(UTF-8 TOKEN_SECRET) used as an AES-256-GCM key; random 12-byte nonce; no AAD;
stored as `aes256gcm:` + standard padded base64 of nonce ‖ ciphertext ‖ 16-byte tag. Pure apart
from drawing the nonce; never logs or echoes the plaintext or the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "aes256gcm:"
NONCE_BYTES = 12


class ProviderKeyError(Exception):
    """A stored key cannot be decrypted (wrong TOKEN_SECRET or a damaged value). Message is safe."""


def _cipher(secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(secret.encode("utf-8")).digest())


def encrypt_key(plaintext: str, secret: str, nonce: bytes | None = None) -> str:
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    sealed = _cipher(secret).encrypt(nonce, plaintext.encode("utf-8"), None)
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt_key(stored: str, secret: str) -> str:
    if not stored.startswith(PREFIX):
        raise ProviderKeyError("stored provider key has an unknown format (expected aes256gcm:)")
    try:
        blob = base64.b64decode(stored[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderKeyError("stored provider key is not valid base64") from exc
    if len(blob) <= NONCE_BYTES:
        raise ProviderKeyError("stored provider key is too short")
    try:
        plain = _cipher(secret).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], None)
    except InvalidTag as exc:
        raise ProviderKeyError(
            "stored provider key cannot be decrypted (was TOKEN_SECRET changed since it was stored?)"
        ) from exc
    return plain.decode("utf-8")
