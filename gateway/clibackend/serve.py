"""The `cli` and `hybrid` routing modes behind the forwarding seam: an `UpstreamAnswer` from the CLI.

`open_upstream_or_cli` is what routes call instead of `open_upstream`. In `direct` mode (and for
anything but `POST /v1/messages`) it is `open_upstream`. In `cli` mode it chooses an account from
the pool (pinning, affinity, cooldowns apply), runs the `claude` CLI with that account's credential,
reports the outcome to the pool, and retries on another account when the run failed for the
account's sake before its first event (bounded like the direct loop). In `hybrid` mode the direct
path runs first; when it fails for auth (401/403), quota/rate limit (429) or no account is left, the
request goes through the CLI with the account that failed (the real Claude Code client may still be
served), else the key's pinned account, else an account direct traffic refused for auth, else the
CLI's own login. The answer is a `CliResponse`, so
the Anthropic relay and the OpenAI bridge handle it exactly like a direct one.
"""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from collections.abc import Callable
from typing import Any, cast

import aiohttp

from dsl.model import RoutingMode
from gateway.accounts.pool import AccountPool as Pool
from gateway.accounts.retry import no_account_error, retry_after_header
from gateway.accounts.select import model_allowed
from gateway.accounts.state import CooldownReason
from gateway.clibackend.events import CliFailure, CliOutput
from gateway.clibackend.invocation import (
    DEFAULT_BINARY,
    Invocation,
    build_invocation,
    cli_environment,
    credential_env,
    parse_body,
)
from gateway.clibackend.response import CliBody, CliResponse
from gateway.clibackend.runner import CliNotRunnable, CliProcess
from gateway.context import GatewayContext
from gateway.credentials.oauth import CredentialUnavailable
from gateway.errors import GatewayError
from gateway.exchange.interface import UpstreamAnswer, UpstreamRequest
from gateway.proxy.forward import open_upstream
from gateway.proxy.pool import (
    CREDENTIAL_UNAVAILABLE,
    Account,
    AccountPool,
    NoAccountAvailable,
    UpstreamOutcome,
)
from gateway.proxy.stream import sse_error_event

FALLBACK_STATUSES = frozenset({401, 403, 429})
NO_ACCOUNT_PREFIX = "Upstream authentication unavailable"
SSE_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-link-assistant-backend": "cli",
}
JSON_HEADERS = {"content-type": "application/json", "x-link-assistant-backend": "cli"}
OWN_LOGIN = "cli-own-login"


def uses_cli(mode: RoutingMode, method: str, path: str) -> bool:
    return mode is not RoutingMode.DIRECT and method == "POST" and path == "/v1/messages"


def falls_back(error: GatewayError | int, body: bytes) -> bool:
    """Whether a direct failure is one the hybrid mode retries through the CLI (and the CLI can
    express the request at all; otherwise the client gets the direct answer)."""
    if isinstance(error, int):
        worth_it = error in FALLBACK_STATUSES
    else:
        worth_it = error.status in FALLBACK_STATUSES or (
            error.status == 502 and error.message.startswith(NO_ACCOUNT_PREFIX)
        )
    if not worth_it:
        return False
    try:
        build_invocation(parse_body(body))
    except GatewayError:
        return False
    return True


async def open_upstream_or_cli(ctx: GatewayContext, upstream: UpstreamRequest) -> UpstreamAnswer:
    mode = ctx.config.routing.mode
    if not uses_cli(mode, upstream.method, upstream.path):
        return await open_upstream(ctx, upstream)
    if mode is RoutingMode.CLI:
        return await open_cli_answer(ctx, upstream)
    try:
        answer = await open_upstream(ctx, upstream)  # hybrid: direct first
    except GatewayError as err:
        if not falls_back(err, upstream.body) or _drained(ctx, upstream.pinned_account):
            raise  # an admin's drain holds for the CLI too
        parked = None if upstream.pinned_account else refused_direct(ctx, upstream.model)
        return await open_cli_answer(ctx, upstream, parked, hybrid=True)
    if not falls_back(answer.response.status, upstream.body):
        return answer
    answer.finish()
    return await open_cli_answer(ctx, upstream, answer.account, hybrid=True)


async def open_cli_answer(
    ctx: GatewayContext, upstream: UpstreamRequest, fallback_account: str | None = None, hybrid: bool = False
) -> UpstreamAnswer:
    invocation = build_invocation(parse_body(upstream.body))
    if hybrid:
        name = fallback_account or upstream.pinned_account  # a pin is never served by another identity
        account = _account_named(ctx, name)
        if name is not None and account is None:
            raise GatewayError(502, "api_error", f"{NO_ACCOUNT_PREFIX}: account {name!r} is not configured")
        started = await _start(ctx, invocation, account, lambda outcome: None)
        if isinstance(started, CliFailure):
            error = started.client_error()
            wait = ctx.account_pool().recovery_wait(upstream.model, upstream.pinned_account)
            error.headers.update(retry_after_header(wait))
            raise error
        return UpstreamAnswer(_as_client_response(started), name or OWN_LOGIN, started.close)
    pool = ctx.account_pool()
    attempts = 1 + max(0, ctx.config.routing.retry_before_first_byte)
    exclude: set[str] = set()
    last: CliFailure | None = None
    for _ in range(attempts):
        try:
            chosen = pool.choose(
                upstream.model, upstream.session_key, upstream.pinned_account, frozenset(exclude)
            )
        except NoAccountAvailable as exc:
            if last is not None:
                break
            raise no_account_error(exc) from exc
        name = chosen.name
        try:
            started = await _start(ctx, invocation, chosen, _reporter(pool, name))
        except BaseException:
            pool.release(name)
            raise
        if isinstance(started, CliFailure):
            pool.release(name)
            last = started
            if not pool.report(name, _outcome(started)):
                break
            exclude.add(name)
            continue
        pool.report(name, UpstreamOutcome(200))
        return UpstreamAnswer(_as_client_response(started), name, _finisher(started, pool, name))
    assert last is not None
    error = last.client_error()
    error.headers.update(retry_after_header(pool.recovery_wait(upstream.model, upstream.pinned_account)))
    raise error


def _reporter(pool: AccountPool, name: str) -> Callable[[UpstreamOutcome], None]:
    """Tells the pool about a failure that happens after the stream reached the client."""

    def report(outcome: UpstreamOutcome) -> None:
        pool.report(name, outcome)

    return report


def _as_client_response(response: CliResponse) -> aiohttp.ClientResponse:
    # The relays use only the part of ClientResponse that CliResponse provides (see response.py).
    return cast(aiohttp.ClientResponse, response)


def _finisher(response: CliResponse, pool: AccountPool, name: str) -> Callable[[], None]:
    """Stop the CLI and give the slot back exactly once: on `finish()`, or when the response is
    collected if a caller only closed it (as the forwarding loop's answers do)."""
    finalizer = weakref.finalize(response, pool.release, name)

    def finish() -> None:
        response.close()
        finalizer()

    return finish


def refused_direct(ctx: GatewayContext, model: str | None) -> str | None:
    """With no account left for direct traffic: one that direct refused (auth), which the real Claude
    Code client may still be allowed to use; None when there is none (the CLI's own login then)."""
    pool = ctx.account_pool()
    if not isinstance(pool, Pool):
        return None
    for state in pool.states():
        if (
            state.cooldown_reason is CooldownReason.AUTH
            and not state.drained
            and model_allowed(state.models, model)
        ):
            return state.name
    return None


def _drained(ctx: GatewayContext, name: str | None) -> bool:
    pool = ctx.account_pool()
    return isinstance(pool, Pool) and any(s.name == name and s.drained for s in pool.states())


def _account_named(ctx: GatewayContext, name: str | None) -> Account | None:
    if name is None:
        return None
    accounts: Any = getattr(ctx.account_pool(), "accounts", ())
    return next((a for a in accounts if a.name == name), None)


def _outcome(failure: CliFailure) -> UpstreamOutcome:
    if failure.status is None:
        reason = CREDENTIAL_UNAVAILABLE if failure.message == CREDENTIAL_UNAVAILABLE else "claude CLI failed"
        return UpstreamOutcome(None, {}, reason)
    return UpstreamOutcome(failure.status, failure.headers)


def _home_for(ctx: GatewayContext, account: Account | None) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", account.name) if account else "_own_login"
    home = ctx.data_dir / "cli-home" / name
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(home)


async def _start(
    ctx: GatewayContext,
    invocation: Invocation,
    account: Account | None,
    on_late_failure: Callable[[UpstreamOutcome], None],
) -> CliResponse | CliFailure:
    """Run the CLI up to its first stream event (streaming) or to its end (non-streaming)."""
    credential: dict[str, str] | None = None
    base_url: str | None = None
    if account is not None:
        try:
            credential = credential_env(await account.credential.auth_headers())
        except CredentialUnavailable:
            return CliFailure(None, CREDENTIAL_UNAVAILABLE)
        base_url = getattr(account, "base_url", None) or ctx.config.upstream.base_url
    home = _home_for(ctx, account)
    env = cli_environment(ctx.environ, home, base_url, credential)
    binary = ctx.config.routing.claude_cli_bin or DEFAULT_BINARY
    try:
        process = await CliProcess.start(
            binary, invocation.args, env, home, invocation.prompt, invocation.system
        )
    except CliNotRunnable as exc:
        raise GatewayError(502, "api_error", str(exc)) from exc
    timeouts = ctx.config.upstream.timeouts
    output, body = CliOutput(), CliBody()
    handed_over = False
    try:
        failure: CliFailure | None = None
        while True:
            line = await process.readline_within(timeouts.first_byte)
            if line is None:
                failure = CliFailure(None, "the claude CLI did not answer in time")
                break
            if not line:
                break
            frames = output.feed(line)
            if invocation.stream and frames:
                for frame in frames:
                    body.feed(frame)
                pump = asyncio.create_task(_pump(process, output, body, timeouts.idle, on_late_failure))
                handed_over = True
                return CliResponse(200, SSE_HEADERS, body, pump)
        failure = failure or output.finish(await process.close())
        if failure is not None:
            return failure
        body.feed(json.dumps(output.message(), ensure_ascii=False).encode())
        body.end()
        return CliResponse(200, JSON_HEADERS, body)
    finally:
        if not handed_over:
            await process.close()


async def _pump(
    process: CliProcess,
    output: CliOutput,
    body: CliBody,
    idle: float,
    on_late_failure: Callable[[UpstreamOutcome], None],
) -> None:
    """Move the rest of a started stream into the body; cancelled when the client goes away."""
    try:
        failure: CliFailure | None = None
        while True:
            line = await process.readline_within(idle)
            if line is None:
                failure = CliFailure(None, "the claude CLI stream timed out")
                break
            if not line:
                break
            for frame in output.feed(line):
                body.feed(frame)
        failure = failure or output.finish(await process.close())
        if failure is not None:
            error = failure.client_error()
            body.feed(sse_error_event(error.error_type, error.message))
            on_late_failure(_outcome(failure))
    finally:
        body.end()
        await process.close()
