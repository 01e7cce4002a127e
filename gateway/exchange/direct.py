"""The direct backend: choose account → build upstream request → send → classify → retry → answer.

`DirectBackend.open` returns an upstream response whose headers have arrived (for a 2xx event
stream, also its opening frames, held back and pushed back unread); the pipeline relays it and
calls `finish()`. Before a byte reaches the client, a 429/529/5xx, an `error` event among the
opening frames, or a connection failure is retried on the next account, and a 401 on an OAuth
account triggers one refresh and a retry. Each failed attempt is noted on the request's record.
A client that leaves mid-attempt gets the upstream request closed and the account slot back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import warnings
import weakref
from collections.abc import Callable

import aiohttp
from yarl import URL

from dsl.model import RouterConfig
from gateway.accounts.outcome import CREDENTIAL_UNAVAILABLE, NoAccountAvailable, UpstreamOutcome
from gateway.accounts.pool import AccountPool, PooledAccount
from gateway.accounts.retry import no_account_error, retry_after_header
from gateway.accounts.streamhead import HeadDecision, StreamHead
from gateway.credentials.oauth import CredentialUnavailable
from gateway.errors import GatewayError, bad_gateway
from gateway.exchange.headers import is_event_stream, upstream_request_headers
from gateway.exchange.identity import inject_identity
from gateway.exchange.interface import AttemptNotes, UpstreamAnswer, UpstreamRequest

log = logging.getLogger(__name__)

IDENTITY_PATHS = frozenset({"/v1/messages"})


def upstream_url(base_url: str, path: str, query: str) -> URL:
    """Base URL + path + the client's raw query, marked encoded so nothing is re-escaped."""
    url = base_url.rstrip("/") + path
    return URL(f"{url}?{query}" if query else url, encoded=True)


def _report(pool: AccountPool, notes: AttemptNotes, name: str, outcome: UpstreamOutcome) -> bool:
    """Tell the pool; note a failure of the account's on the request's record. True: try another."""
    verdict = pool.report(name, outcome)
    if verdict.account_failed:
        notes.note_upstream_error(name, str(verdict.kind))
    return verdict.account_failed


class DirectBackend:
    """Straight to the Anthropic API with the pool's accounts."""

    def __init__(
        self, config: RouterConfig, pool: AccountPool, session: Callable[[], aiohttp.ClientSession]
    ) -> None:
        self.config = config
        self.pool = pool
        self.session = session

    def body_for(self, req: UpstreamRequest, is_oauth: bool) -> bytes:
        if is_oauth and self.config.features.claude_code_identity and req.path in IDENTITY_PATHS:
            injected = inject_identity(req.body)
            if injected is not None:
                return injected
        return req.body

    async def open(self, req: UpstreamRequest, notes: AttemptNotes) -> UpstreamAnswer:
        pool = self.pool
        session = self.session()
        config = self.config
        timeouts = config.upstream.timeouts
        attempts = 1 + max(0, config.routing.retry_before_first_byte)
        exclude: set[str] = set()
        refreshed: set[str] = set()
        pending: UpstreamAnswer | None = None  # last retryable answer, relayed if nobody else can serve
        failure: GatewayError | None = None
        again: PooledAccount | None = None  # the account to resend to after refreshing its token
        tries = 0
        while tries < attempts:
            if again is not None:
                account, again = again, None
            else:
                try:
                    account = pool.choose(req.model, req.session_key, req.pinned_account, frozenset(exclude))
                except NoAccountAvailable as exc:
                    return _nobody_left(pending, failure, exc)
            tries += 1
            credential = account.credential
            try:
                auth = await credential.auth_headers()
            except asyncio.CancelledError:
                _give_back(pool, account.name, None, pending)
                raise
            except CredentialUnavailable:
                log.warning("account %s has no usable credential", account.name)
                _report(pool, notes, account.name, UpstreamOutcome(None, {}, CREDENTIAL_UNAVAILABLE))
                pool.release(account.name)
                exclude.add(account.name)
                failure = failure or bad_gateway("Upstream authentication unavailable")
                continue
            headers = upstream_request_headers(req.headers, auth, credential.is_oauth)
            base_url = account.base_url or config.upstream.base_url
            url = upstream_url(base_url, req.path, req.query)
            stream_error: str | None = None
            response: aiohttp.ClientResponse | None = None
            try:
                async with asyncio.timeout(timeouts.first_byte):
                    response = await session.request(
                        req.method,
                        url,
                        data=self.body_for(req, credential.is_oauth),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect),
                        allow_redirects=False,
                    )
                    if response.status < 300 and is_event_stream(response.headers):
                        stream_error = await _hold_stream_head(response)
            except asyncio.CancelledError:  # the client went away: the upstream request is dropped too
                _give_back(pool, account.name, response, pending)
                raise
            except TimeoutError:
                if response is not None:
                    response.close()
                log.warning("account %s: upstream did not answer in time", account.name)
                _report(pool, notes, account.name, UpstreamOutcome(None, {}, "timeout"))
                pool.release(account.name)
                exclude.add(account.name)
                failure = GatewayError(504, "api_error", "Upstream did not answer in time")
                continue
            except aiohttp.ClientError as exc:
                if response is not None:
                    response.close()
                log.warning("account %s: upstream request failed: %s", account.name, type(exc).__name__)
                _report(pool, notes, account.name, UpstreamOutcome(None, {}, type(exc).__name__))
                pool.release(account.name)
                exclude.add(account.name)
                failure = bad_gateway("Upstream request failed: could not reach the upstream API")
                continue
            if pending is not None:
                pending.finish()
                pending = None
            status = response.status
            if status == 401 and credential.is_oauth and account.name not in refreshed:
                refreshed.add(account.name)
                credential.invalidate()
                try:
                    await credential.refresh()
                except asyncio.CancelledError:
                    _give_back(pool, account.name, response, None)
                    raise
                except CredentialUnavailable:
                    pool.record_refresh(account.name, False)
                    _report(pool, notes, account.name, UpstreamOutcome(status, response.headers))
                    exclude.add(account.name)
                    pending = UpstreamAnswer(response, account.name, _releaser(pool, account.name, response))
                    continue
                pool.record_refresh(account.name, True)
                response.release()
                again = account  # keep its slot: the same account again, with the fresh token
                tries -= 1  # not a new attempt
                continue
            # Created only now: its finalizer returns the slot, which the 401 retry above keeps.
            answer = UpstreamAnswer(response, account.name, _releaser(pool, account.name, response))
            outcome = UpstreamOutcome(status, response.headers, stream_error=stream_error)
            if _report(pool, notes, account.name, outcome):
                if tries < attempts:
                    exclude.add(account.name)
                    pending = answer
                    continue
                return _with_recovery(pool, req, answer)
            return answer
        if pending is not None:
            return _with_recovery(pool, req, pending)
        error = failure or bad_gateway("Upstream request failed")
        error.headers.update(retry_after_header(pool.recovery_wait(req.model, req.pinned_account)))
        raise error


def _give_back(
    pool: AccountPool, name: str, response: aiohttp.ClientResponse | None, pending: UpstreamAnswer | None
) -> None:
    """Cancelled mid-attempt: close what is open and return the account slots this request holds."""
    if response is not None:
        response.close()
    pool.release(name)
    if pending is not None:
        pending.finish()


def _with_recovery(pool: AccountPool, req: UpstreamRequest, answer: UpstreamAnswer) -> UpstreamAnswer:
    """Retries are spent on a failure: if every account is down, say when the first one is back."""
    wait = pool.recovery_wait(req.model, req.pinned_account)
    if not wait:
        return answer
    return dataclasses.replace(answer, extra_headers={"retry-after": str(max(1, math.ceil(wait)))})


def _nobody_left(
    pending: UpstreamAnswer | None, failure: GatewayError | None, exc: NoAccountAvailable
) -> UpstreamAnswer:
    """No account can take the request: relay the last upstream failure, else our own error, either
    way with `retry-after` set to when the earliest account recovers."""
    retry_after = {} if exc.retry_after is None else {"retry-after": str(max(1, math.ceil(exc.retry_after)))}
    if pending is not None:
        return dataclasses.replace(pending, extra_headers=retry_after)
    if failure is not None:
        failure.headers.update(retry_after)
        raise failure from exc
    raise no_account_error(exc) from exc


async def _hold_stream_head(response: aiohttp.ClientResponse) -> str | None:
    """Read the opening frames of an SSE answer; the `error.type` if the stream failed in them.

    The bytes read are pushed back, so whoever relays the response sees the stream from its start.
    A stream cut in its opening frames raises `ClientPayloadError` like a failed connection.
    """
    head = StreamHead()
    while head.decision is HeadDecision.PENDING:
        chunk = await response.content.readany()
        if not chunk:
            if head.buffered and head.error_type is None:
                break  # a complete short stream: let it through as it is
            raise aiohttp.ClientPayloadError("upstream stream ended before it started")
        head.feed(chunk)
    with warnings.catch_warnings():
        # aiohttp deprecates unread_data, but it is the one way to hand an untouched stream on.
        warnings.simplefilter("ignore", DeprecationWarning)
        response.content.unread_data(head.buffered)
    return head.error_type


def slot_releaser(
    pool: AccountPool, name: str, response: object, stop: Callable[[], object]
) -> Callable[[], None]:
    """`stop` the response and give the account's concurrency slot back exactly once: on `finish()`,
    or when the response object is collected if a caller forgot."""
    finalizer = weakref.finalize(response, pool.release, name)

    def finish() -> None:
        stop()
        finalizer()

    return finish


def _releaser(pool: AccountPool, name: str, response: aiohttp.ClientResponse) -> Callable[[], None]:
    return slot_releaser(pool, name, response, response.release)
