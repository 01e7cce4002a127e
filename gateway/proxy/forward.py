"""The forwarding loop: choose account → build upstream request → send → classify → retry → answer.

`open_upstream` returns an upstream response whose headers have arrived and whose body has not been
read; the caller streams it (see `stream.py`) and must release it. Before that first byte reaches the
client, a 429/529/5xx or connection failure is retried on the next account, and a 401 on an OAuth
account triggers one refresh and a retry. Other routes (OpenAI translation, Bedrock, Vertex) call
this too, with their own body, instead of making their own upstream call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from yarl import URL

from gateway.context import GatewayContext
from gateway.credentials.oauth import CredentialUnavailable
from gateway.errors import GatewayError, bad_gateway
from gateway.proxy.headers import upstream_request_headers
from gateway.proxy.identity import inject_identity
from gateway.proxy.pool import NoAccountAvailable, UpstreamOutcome

log = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 429, 500, 502, 503, 504, 529})
IDENTITY_PATHS = frozenset({"/v1/messages"})


@dataclass(frozen=True)
class UpstreamRequest:
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    model: str | None = None
    session_key: str | None = None
    pinned_account: str | None = None


@dataclass(frozen=True)
class UpstreamAnswer:
    response: aiohttp.ClientResponse
    account: str


def upstream_url(base_url: str, path: str, query: str) -> URL:
    """Base URL + path + the client's raw query, marked encoded so nothing is re-escaped."""
    url = base_url.rstrip("/") + path
    return URL(f"{url}?{query}" if query else url, encoded=True)


def client_headers(items: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(items)


def _body_for(ctx: GatewayContext, req: UpstreamRequest, is_oauth: bool) -> bytes:
    if is_oauth and ctx.config.features.claude_code_identity and req.path in IDENTITY_PATHS:
        injected = inject_identity(req.body)
        if injected is not None:
            return injected
    return req.body


async def open_upstream(ctx: GatewayContext, req: UpstreamRequest) -> UpstreamAnswer:
    pool = ctx.account_pool()
    session = ctx.session()
    timeouts = ctx.config.upstream.timeouts
    attempts = 1 + max(0, ctx.config.routing.retry_before_first_byte)
    exclude: set[str] = set()
    refreshed: set[str] = set()
    pending: UpstreamAnswer | None = None  # last retryable answer, relayed if nobody else can serve
    failure: GatewayError | None = None
    tries = 0
    while tries < attempts:
        try:
            account = pool.choose(req.model, req.session_key, req.pinned_account, frozenset(exclude))
        except NoAccountAvailable as exc:
            if pending is not None:
                return pending
            if failure is not None:
                raise failure from exc
            raise bad_gateway("Upstream authentication unavailable") from exc
        tries += 1
        credential = account.credential
        try:
            auth = await credential.auth_headers()
        except CredentialUnavailable:
            log.warning("account %s has no usable credential", account.name)
            pool.report(account.name, UpstreamOutcome(None, {}, "credential unavailable"))
            exclude.add(account.name)
            failure = failure or bad_gateway("Upstream authentication unavailable")
            continue
        headers = upstream_request_headers(req.headers, auth, credential.is_oauth)
        url = upstream_url(ctx.config.upstream.base_url, req.path, req.query)
        try:
            async with asyncio.timeout(timeouts.first_byte):
                response = await session.request(
                    req.method,
                    url,
                    data=_body_for(ctx, req, credential.is_oauth),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect),
                    allow_redirects=False,
                )
        except TimeoutError:
            log.warning("account %s: upstream did not answer in time", account.name)
            pool.report(account.name, UpstreamOutcome(None, {}, "timeout"))
            exclude.add(account.name)
            failure = GatewayError(504, "api_error", "Upstream did not answer in time")
            continue
        except aiohttp.ClientError as exc:
            log.warning("account %s: upstream request failed: %s", account.name, type(exc).__name__)
            pool.report(account.name, UpstreamOutcome(None, {}, type(exc).__name__))
            exclude.add(account.name)
            failure = bad_gateway("Upstream request failed: could not reach the upstream API")
            continue
        if pending is not None:
            pending.response.release()
            pending = None
        answer = UpstreamAnswer(response, account.name)
        status = response.status
        if status == 401 and credential.is_oauth and account.name not in refreshed:
            refreshed.add(account.name)
            credential.invalidate()
            try:
                await credential.refresh()
            except CredentialUnavailable:
                pool.report(account.name, UpstreamOutcome(status, response.headers))
                exclude.add(account.name)
                pending = answer
                continue
            response.release()
            tries -= 1  # the same account again, with the fresh token; not a new attempt
            continue
        pool.report(account.name, UpstreamOutcome(status, response.headers))
        if status in RETRYABLE and tries < attempts:
            exclude.add(account.name)
            pending = answer
            continue
        return answer
    if pending is not None:
        return pending
    raise failure or bad_gateway("Upstream request failed")
