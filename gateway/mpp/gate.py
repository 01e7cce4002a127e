"""The MPP admission step of the OpenAI routes, and its wiring from the settings.

With `MPP_ENABLE`, a call to `/v1/chat/completions` or `/v1/responses` that carries a valid la_sk_
key (checked first, without spending its budget) but no paid credential gets `402` with a fresh
`WWW-Authenticate: Payment` challenge and an `application/problem+json` body. A credential that
echoes one of our challenges and carries a proof the method's verifier accepts is served once;
its 2xx answer carries `Payment-Receipt`. The challenge secret is derived from TOKEN_SECRET, so
replicas sharing it accept each other's challenges; with Redis configured they share the replay
guard too (`replay_redis`), else it is per process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from dsl.model import RouterConfig
from gateway.context import GATEWAY
from gateway.credentials.secrets import resolve_secret
from gateway.errors import GatewayError
from gateway.mpp.challenge import Charge, b64url, issue, jcs, parse_rfc3339, rfc3339
from gateway.mpp.credential import Admitted, Kind, Problem, assess, payment_values
from gateway.mpp.verifiers import (
    TEST_METHOD,
    HmacTestVerifier,
    LocalReplayGuard,
    PaymentVerifier,
    ReplayGuard,
    ReplayUnavailable,
    VerificationFailed,
)
from gateway.tokens.service import TOKENS

CHALLENGE_TTL = 300.0
TEST_SECRET_ENV = "MPP_TEST_VERIFIER_SECRET"
_AMOUNT = re.compile(r"\d{1,30}(\.\d{1,18})?")
_METHOD = re.compile(r"[a-z]{1,64}")


class MppSetupError(ValueError):
    """MPP is on but cannot charge as configured (safe to print)."""


@dataclass
class MppGate:
    secret: bytes = field(repr=False)
    charge: Charge
    method: str
    verifiers: Mapping[str, PaymentVerifier]
    clock: Callable[[], float] = time.time
    nonce: Callable[[], str] = lambda: secrets.token_urlsafe(12)
    replay: ReplayGuard = field(default_factory=lambda: LocalReplayGuard(time.time))

    async def admit(self, request: web.Request) -> web.Response | None:
        """None: paid (the receipt waits on the request); else the answer to send instead."""
        now = self.clock()
        credentials = payment_values(request.headers.getall("Authorization", []))
        outcome = assess(credentials, self.secret, request.host, self.charge, self.verifiers.keys(), now)
        if outcome is None:
            return self.refuse(request, Problem(Kind.PAYMENT_REQUIRED, "this endpoint charges per request"))
        if isinstance(outcome, Problem):
            return self.refuse(request, outcome)
        return await self._verify(request, outcome, now)

    async def _verify(self, request: web.Request, paid: Admitted, now: float) -> web.Response | None:
        challenge = paid.challenge
        try:
            fresh = await self.replay.claim(challenge.id, parse_rfc3339(challenge.expires))
        except ReplayUnavailable:
            raise GatewayError(
                503, "api_error", "payments cannot be checked for reuse right now; retry"
            ) from None
        if not fresh:
            used = Problem(
                Kind.INVALID_CHALLENGE, "this challenge was already paid and used", challenge_id=challenge.id
            )
            return self.refuse(request, used)
        try:
            reference = await self.verifiers[challenge.method].verify(challenge, paid.payload)
        except VerificationFailed as exc:
            await self.replay.release(challenge.id)
            return self.refuse(
                request, Problem(Kind.VERIFICATION_FAILED, str(exc), challenge_id=challenge.id)
            )
        receipt = {
            "status": "success",
            "method": challenge.method,
            "timestamp": rfc3339(now),
            "reference": reference,
        }
        request[RECEIPT] = b64url(jcs(receipt))
        return None

    def refuse(self, request: web.Request, problem: Problem) -> web.Response:
        headers = {"Cache-Control": "no-store"}
        body = problem.body()
        if problem.status == 402:
            nonce = self.nonce()
            fresh = issue(
                self.secret, request.host, self.method, self.charge, self.clock(), CHALLENGE_TTL, nonce
            )
            headers["WWW-Authenticate"] = fresh.header()
            if problem.kind is Kind.PAYMENT_REQUIRED:
                body["challengeId"] = fresh.id
        if problem.kind is Kind.PAYMENT_REQUIRED:
            # The seed's fields, so its clients still find the price in the body.
            charge = self.charge
            body.update(amount=charge.amount, currency=charge.currency, recipient=charge.recipient)
            body.update(method=self.method, resource=request.path)
        return web.Response(
            status=problem.status,
            text=json.dumps(body),
            content_type="application/problem+json",
            headers=headers,
        )


MPP = web.AppKey("mpp_gate", MppGate)
RECEIPT = web.RequestKey("mpp_receipt", str)


def mpp_gate(config: RouterConfig, environ: Mapping[str, str], token_secret: str) -> MppGate | None:
    """The gate for the settings (None with MPP off); MppSetupError names what is missing."""
    mpp = config.mpp
    if not mpp.enabled:
        return None
    if not mpp.recipient:
        raise MppSetupError("MPP_ENABLE is on but no recipient is set (MPP_RECIPIENT or `recipient` in mpp:)")
    if not _AMOUNT.fullmatch(mpp.amount or "") or not any(ch in "123456789" for ch in mpp.amount):
        raise MppSetupError("MPP_ENABLE is on but no positive amount is set (MPP_AMOUNT or `amount` in mpp:)")
    method = mpp.method or TEST_METHOD
    if not _METHOD.fullmatch(method):
        raise MppSetupError(f"MPP_METHOD {method[:40]!r} is not a method name (lowercase letters only)")
    verifiers: dict[str, PaymentVerifier] = {}
    test_secret = environ.get(TEST_SECRET_ENV)
    if test_secret:
        verifiers[TEST_METHOD] = HmacTestVerifier(test_secret.encode())
    if method not in verifiers:
        raise MppSetupError(
            f"MPP_METHOD {method!r} has no payment verifier in this build (it settles nothing; the only "
            f"one is the '{TEST_METHOD}' method, enabled by {TEST_SECRET_ENV}), so no credential could "
            "ever be accepted"
        )
    secret = hmac.new(token_secret.encode(), b"mpp-challenge-binding", hashlib.sha256).digest()
    charge = Charge(mpp.amount, (mpp.currency or "usd").lower(), mpp.recipient)
    return MppGate(secret, charge, method, verifiers)


async def shared_replay_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: with Redis configured, replicas share one replay guard (paid once in all)."""
    ctx, gate = app[GATEWAY], app[MPP]
    url = resolve_secret(ctx.config.redis.url, ctx.environ) if ctx.config.redis.url else None
    if url:  # the Redis client is imported only when configured (a sidecar starts smaller without it)
        from gateway.mpp.replay_redis import open_shared_guard

        shared = await open_shared_guard(url, ctx.config.redis.key_prefix)
    else:
        shared = None
    if shared is None:
        yield
        return
    gate.replay = shared
    try:
        yield
    finally:
        await shared.close()


async def _attach_receipt(request: web.Request, response: web.StreamResponse) -> None:
    receipt = request.get(RECEIPT)
    if receipt is not None and 200 <= response.status < 300:
        response.headers["Payment-Receipt"] = receipt


def add_mpp_gate(app: web.Application) -> None:
    """With MPP on, make the gate available to the OpenAI routes and send receipts on success."""
    ctx = app[GATEWAY]
    gate = mpp_gate(ctx.config, ctx.environ, ctx.token_secret)
    if gate is None:
        return
    app[MPP] = gate
    app.on_response_prepare.append(_attach_receipt)
    app.cleanup_ctx.append(shared_replay_ctx)


async def admit(request: web.Request) -> web.Response | None:
    """The OpenAI routes' step: the la_sk_ key first (401/403 before any 402, its budget not
    spent), then payment."""
    gate = request.app.get(MPP)
    if gate is None:
        return None
    await request.app[TOKENS].introspect(request.headers)
    return await gate.admit(request)
