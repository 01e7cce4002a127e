"""The token service: issue, authorize (with budgets), revoke, expire, list, and record usage.

`authorize` follows the seed's order exactly: credential from `Authorization: Bearer` first, else
`x-api-key`; `la_sk_` prefix; HS256 signature; `exp` with 60 s leeway; revoked → 403; then the
budgets (`max_requests`, `max_tokens`, `rate_limit_per_minute`) → 429. A validly signed key whose
record the store does not hold first makes the store catch up (a key the CLI issued a moment ago
is counted from its first request); still unknown to a persistent store (file or Redis), it is a
401 "unknown key": a lost data dir must never revive revoked keys or lift budgets. Only the
memory policy keeps the seed's rule (accepted, uncounted). The budget check and the
count happen in one synchronous step (no await in between), so concurrent requests never
overshoot a budget. Errors leave as `GatewayError`; their messages never contain the token.

The service keeps no module state; `build_token_service` wires it from the config.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from dsl.model import RouterConfig, StoragePolicy, TokenDefaults
from gateway.credentials.secrets import resolve_secret
from gateway.errors import BudgetExceeded, GatewayError, unauthorized
from gateway.tokens import jwt_codec
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.jwt_codec import Claims, TokenFormatError
from gateway.tokens.records import DENIAL_MESSAGES, Denial, TokenRecord, admission
from gateway.tokens.redisstore import RedisTokenStore
from gateway.tokens.state import MemoryTokenStore, StoreError, TokenStore

log = logging.getLogger(__name__)
VERIFIED_CACHE_SIZE = 4096
PREVIOUS_SECRETS_ENV = "TOKEN_SECRET_PREVIOUS"
UNKNOWN_KEY_MESSAGE = "Unknown key: the token store has no record of it"
MEMORY_POLICY_WARNING = (
    "storage policy is memory: keys, revocations and budgets do not survive a restart, and after one "
    "every validly signed key is accepted without limits"
)
T = TypeVar("T")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: TokenRecord
    ttl_hours: int


class TokenService:
    def __init__(
        self,
        store: TokenStore,
        secret: str,
        defaults: TokenDefaults | None = None,
        clock: Callable[[], float] = time.time,
        previous_secrets: tuple[str, ...] = (),
    ) -> None:
        if not secret:
            raise ValueError("TOKEN_SECRET must not be empty")
        self.store = store
        self.defaults = defaults if defaults is not None else TokenDefaults()
        self._secret = secret
        self._keyring = jwt_codec.Keyring(secret, previous_secrets)
        self._clock = clock
        # Signature checks are pure in (token, secret): cache them; expiry is still checked per call.
        self._verified: dict[str, Claims] = {}

    # ------------------------------------------------------------------ authorization

    def verify(self, headers: Mapping[str, str], now: float) -> Claims:
        """Steps 1-3 of the seed's order: credential, prefix, signature + expiry (401s)."""
        try:
            token = jwt_codec.extract_credential(headers)
            claims = self._verified.get(token)
            if claims is None:
                claims = jwt_codec.verify_signature(token, self._keyring)
                if len(self._verified) >= VERIFIED_CACHE_SIZE:
                    del self._verified[next(iter(self._verified))]
                self._verified[token] = claims
            jwt_codec.check_expiry(claims, now)
        except TokenFormatError as exc:
            raise unauthorized(exc.message) from None
        return claims

    def check_key(self, headers: Mapping[str, str]) -> None:
        """The 401 checks alone (prefix, signature, expiry), before a request's body is read."""
        self.verify(headers, self._clock())

    async def authorize(self, headers: Mapping[str, str], reserve_tokens: int = 0) -> TokenRecord:
        """Verify the client's key and count one request against its budget; with a token budget,
        hold `reserve_tokens` (the request's max_tokens) until `settle` (see `TokenState.consume`)."""
        now = self._clock()
        claims = self.verify(headers, now)
        reserve = max(0, reserve_tokens)
        outcome = await self._persist(self.store.admit(claims.sub, claims.exp, now, reserve))
        if outcome.record is None and self.store.persistent:
            await self._persist(self.store.refresh(claims.sub))  # issued elsewhere a moment ago?
            outcome = await self._persist(self.store.admit(claims.sub, claims.exp, now, reserve))
        if outcome.record is None:
            return self._unknown(claims)
        if outcome.denial is not None:
            raise _denial_error(outcome.denial, outcome.retry_after)
        return outcome.record

    async def introspect(self, headers: Mapping[str, str]) -> TokenRecord:
        """The caller's own record, verified like `authorize` but without spending its budget."""
        now = self._clock()
        claims = self.verify(headers, now)
        record = await self._persist(self.store.fetch(claims.sub))
        if record is None and self.store.persistent:
            await self._persist(self.store.refresh(claims.sub))
            record = await self._persist(self.store.fetch(claims.sub))
        if record is None:
            return self._unknown(claims)
        denial = admission(record, claims.exp, now)
        if denial in (Denial.REVOKED, Denial.EXPIRED):
            raise _denial_error(denial, None)
        return record

    def _unknown(self, claims: Claims) -> TokenRecord:
        """A validly signed key with no record: refused by a persistent store, accepted (the seed's
        behaviour) by the memory policy, which loses every record on restart anyway."""
        if self.store.persistent:
            raise unauthorized(UNKNOWN_KEY_MESSAGE)
        return _record_from_claims(claims)

    def release(self, record: TokenRecord, reserve_tokens: int) -> None:
        """A request has ended (answered, failed or cut) and its usage is recorded: give back what
        `authorize` held for it."""
        if record.max_tokens is not None:
            self.store.release(record.id, max(0, reserve_tokens))

    async def record_usage(self, token_id: str, input_tokens: int, output_tokens: int) -> None:
        """Count tokens after a response; never fails the (already answered) request."""
        try:
            await self.store.add_tokens(token_id, input_tokens, output_tokens)
        except StoreError as exc:
            log.warning("token usage not recorded: %s", exc)

    # ------------------------------------------------------------------ administration

    async def issue(
        self,
        *,
        ttl_hours: int | None = None,
        label: str = "",
        account: str | None = None,
        max_requests: int | None = None,
        max_tokens: int | None = None,
        rate_limit_per_minute: int | None = None,
    ) -> IssuedToken:
        ttl = self.defaults.ttl_hours if ttl_hours is None else ttl_hours
        now = int(self._clock())
        claims = Claims(sub=str(uuid.uuid4()), iat=now, exp=now + ttl * 3600, label=label, account=account)
        record = TokenRecord(
            id=claims.sub,
            label=label,
            issued_at=claims.iat,
            expires_at=claims.exp,
            account=account,
            max_requests=self.defaults.max_requests if max_requests is None else max_requests,
            max_tokens=self.defaults.max_tokens if max_tokens is None else max_tokens,
            rate_limit_per_minute=(
                self.defaults.rate_limit_per_minute
                if rate_limit_per_minute is None
                else rate_limit_per_minute
            ),
        )
        token = jwt_codec.encode(claims, self._secret)
        await self._persist(self.store.put(record))
        return IssuedToken(token=token, record=record, ttl_hours=ttl)

    async def refresh(self, token_id: str | None = None) -> None:
        """Catch up with other processes' changes now (admin doors call it before list/get)."""
        await self._persist(self.store.refresh(token_id))

    def list(self) -> list[TokenRecord]:
        return sorted(self.store.records(), key=lambda r: (r.issued_at, r.id))

    def get(self, token_id: str) -> TokenRecord | None:
        return self.store.get(token_id)

    async def revoke(self, token_id: str) -> TokenRecord | None:
        """Mark revoked (durable before returning); None when the id is unknown."""
        await self.refresh(token_id)  # the id may come from a key the CLI issued a moment ago
        return await self._persist(self.store.revoke(token_id))

    async def expire(self, token_id: str) -> TokenRecord | None:
        """Really expire it: `expires_at` becomes now (not an alias of revoke as in the seed)."""
        await self.refresh(token_id)
        record = await self._persist(self.store.fetch(token_id))
        if record is None:
            return None
        now = int(self._clock())
        if record.expires_at <= now:
            return record
        return await self._persist(self.store.expire(token_id, now))

    @staticmethod
    async def _persist(operation: Awaitable[T]) -> T:
        try:
            return await operation
        except StoreError as exc:
            raise GatewayError(500, "api_error", f"Token storage error: {exc}") from exc

    async def close(self) -> None:
        await self.store.close()


def _denial_error(denial: Denial, retry_after: float | None) -> GatewayError:
    message = DENIAL_MESSAGES[denial]
    if denial is Denial.REVOKED:
        return GatewayError(403, "authentication_error", message)
    if denial is Denial.EXPIRED:
        return unauthorized(message)
    # The reason travels with the error: whoever holds the request's record notes the rejection.
    return BudgetExceeded(message, denial.value, retry_after)


def _record_from_claims(claims: Claims) -> TokenRecord:
    return TokenRecord(
        id=claims.sub, label=claims.label, issued_at=claims.iat, expires_at=claims.exp, account=claims.account
    )


def build_store(
    config: RouterConfig, data_dir: Path, *, server: bool = True, environ: Mapping[str, str] | None = None
) -> TokenStore:
    """The store the config asks for (not yet opened): Redis when a Redis URL is configured (shared
    by replicas), else the storage policy's. `server=False` (the CLI) skips the file store's
    compaction at open (it still compacts at close, so the seed-format snapshot stays current)."""
    redis_url = resolve_secret(config.redis.url, os.environ if environ is None else environ)
    if redis_url:
        return RedisTokenStore(redis_url, config.redis.key_prefix)
    if config.storage.policy is StoragePolicy.MEMORY:
        return MemoryTokenStore()
    return FileTokenStore(data_dir, config.storage.policy, compact_on_open=server)


def build_token_service(
    config: RouterConfig, secret: str, data_dir: Path, environ: Mapping[str, str] | None = None
) -> TokenService:
    """Build and open the service (call from inside the running event loop, e.g. a cleanup_ctx)."""
    store = build_store(config, data_dir, environ=environ)
    if not store.persistent:
        log.warning(MEMORY_POLICY_WARNING)
    store.start()
    env = os.environ if environ is None else environ
    previous = jwt_codec.parse_previous(env.get(PREVIOUS_SECRETS_ENV))
    return TokenService(store, secret, config.tokens, previous_secrets=previous)


TOKENS = web.AppKey("tokens", TokenService)
"""The app's token service (made and closed in its own cleanup_ctx)."""
