"""Payment proof verifiers (one per MPP method), the shipped test verifier, and the replay guard.

A verifier checks a credential's method-specific `payload` for a challenge and answers a receipt
reference, or raises `VerificationFailed`. This build settles nothing: it ships only `HmacTestVerifier`
(method `test`), whose proof is an HMAC of the challenge id under a secret shared with the paying
client, so end-to-end flows can be exercised. Real methods plug in through `PaymentVerifier`.
No aiohttp here; the replay guard takes its clock as a parameter.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.mpp.challenge import Challenge, b64url

TEST_METHOD = "test"


class VerificationFailed(Exception):
    """The proof does not pay the challenge (message is shown to the client)."""


class PaymentVerifier(Protocol):
    @property
    def method(self) -> str: ...

    async def verify(self, challenge: Challenge, payload: dict[str, Any]) -> str:
        """The settlement reference for the receipt; raises VerificationFailed."""
        ...


@dataclass(frozen=True)
class HmacTestVerifier:
    """Method `test`: payload `{"proof": base64url(HMAC-SHA256(secret, challenge id))}`."""

    secret: bytes = field(repr=False)
    method: str = TEST_METHOD

    async def verify(self, challenge: Challenge, payload: dict[str, Any]) -> str:
        proof = payload.get("proof")
        if not isinstance(proof, str) or not hmac.compare_digest(
            proof, hmac_test_proof(self.secret, challenge.id)
        ):
            raise VerificationFailed("the test payment proof does not match the challenge")
        return "test_" + challenge.id[:16]


def hmac_test_proof(secret: bytes, challenge_id: str) -> str:
    """What a paying client of the test method sends (also used by the tests' client)."""
    return b64url(hmac.new(secret, challenge_id.encode(), hashlib.sha256).digest())


class ReplayUnavailable(Exception):
    """The shared replay store cannot answer; no payment is accepted until it can."""


class ReplayGuard(Protocol):
    """Where paid challenge ids are remembered until they expire (per process, or shared)."""

    async def claim(self, challenge_id: str, expires_at: float) -> bool:
        """False when the id was used already; raises ReplayUnavailable."""
        ...

    async def release(self, challenge_id: str) -> None:
        """A claimed id whose proof failed may be paid again."""
        ...


@dataclass
class LocalReplayGuard:
    """Challenge ids already paid with, kept in this process until their challenge expires."""

    clock: Callable[[], float]
    _used: dict[str, float] = field(default_factory=dict)

    async def claim(self, challenge_id: str, expires_at: float) -> bool:
        """False when the id was used already; claiming is atomic within the event loop."""
        now = self.clock()
        for stale in [k for k, until in self._used.items() if until <= now]:
            del self._used[stale]
        if challenge_id in self._used:
            return False
        self._used[challenge_id] = expires_at
        return True

    async def release(self, challenge_id: str) -> None:
        self._used.pop(challenge_id, None)
