"""Route glue of the `cli` and `hybrid` routing modes for `POST /v1/messages`.

`cli`: choose an account from the pool (pinning, affinity, cooldowns apply), run the CLI with that
account's credential, report the outcome to the pool, and retry on another account when the run
failed for the account's sake before anything reached the client (bounded like the direct loop).
`hybrid`: the direct path runs first; when it fails for auth (401/403) or quota/rate limit (429),
or no account is left, the same request goes through the CLI (with the account that failed, which
the real Claude Code client may still serve, else with the CLI's own login).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dsl.model import RoutingMode
from gateway.accounts.retry import no_account_error
from gateway.clibackend.events import CliFailure, CliOutput
from gateway.clibackend.invocation import (
    DEFAULT_BINARY,
    Invocation,
    build_invocation,
    cli_environment,
    credential_env,
    parse_body,
)
from gateway.clibackend.runner import CliNotRunnable, CliProcess
from gateway.context import GatewayContext
from gateway.credentials.oauth import CredentialUnavailable
from gateway.errors import GatewayError
from gateway.proxy.forward import UpstreamAnswer, UpstreamRequest, open_upstream
from gateway.proxy.pool import CREDENTIAL_UNAVAILABLE, Account, NoAccountAvailable, UpstreamOutcome
from gateway.proxy.stream import sse_error_event

FALLBACK_STATUSES = frozenset({401, 403, 429})
NO_ACCOUNT_PREFIX = "Upstream authentication unavailable"
SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache",
               "x-link-assistant-backend": "cli"}


def uses_cli(mode: RoutingMode, method: str, path: str) -> bool:
    return mode is not RoutingMode.DIRECT and method == "POST" and path == "/v1/messages"


def falls_back(error: GatewayError | int, body: bytes) -> bool:
    """Whether a direct failure is one the hybrid mode retries through the CLI (and the CLI can
    express the request at all; otherwise the client gets the direct answer)."""
    if isinstance(error, int):
        worth_it = error in FALLBACK_STATUSES
    else:
        worth_it = error.status in FALLBACK_STATUSES or (
            error.status == 502 and error.message.startswith(NO_ACCOUNT_PREFIX))
    if not worth_it:
        return False
    try:
        build_invocation(parse_body(body))
    except GatewayError:
        return False
    return True


async def open_upstream_or_cli(request: web.Request, ctx: GatewayContext, record: Any,
                               upstream: UpstreamRequest) -> UpstreamAnswer | web.StreamResponse:
    """The proxy's entry: the direct answer to relay, or the response the CLI already gave."""
    mode = ctx.config.routing.mode
    if not uses_cli(mode, request.method, upstream.path):
        return await open_upstream(ctx, upstream)
    if mode is RoutingMode.CLI:
        return await serve_cli(request, ctx, record, upstream)
    try:
        answer = await open_upstream(ctx, upstream)  # hybrid: direct first
    except GatewayError as err:
        if not falls_back(err, upstream.body):
            raise
        return await serve_cli(request, ctx, record, upstream, None, hybrid=True)
    if not falls_back(answer.response.status, upstream.body):
        return answer
    answer.finish()
    return await serve_cli(request, ctx, record, upstream, answer.account, hybrid=True)


@dataclass
class RunResult:
    response: web.StreamResponse | None
    """Set when the run answered the client (possibly with an in-stream error)."""
    failure: CliFailure | None
    usage: dict[str, int]


async def serve_cli(request: web.Request, ctx: GatewayContext, record: Any, upstream: UpstreamRequest,
                    fallback_account: str | None = None, hybrid: bool = False) -> web.StreamResponse:
    invocation = build_invocation(parse_body(upstream.body))
    if hybrid:
        # The account that just failed directly; else the key's pinned account (a pin is never
        # served by another identity); else the CLI's own login.
        name = fallback_account or upstream.pinned_account
        account = _account_named(ctx, name)
        if name is not None and account is None:
            raise GatewayError(502, "api_error", f"{NO_ACCOUNT_PREFIX}: account {name!r} is not configured")
        fallback = await _run(request, ctx, invocation, account)
        return await _deliver(ctx, record, invocation, fallback)
    pool = ctx.account_pool()
    attempts = 1 + max(0, ctx.config.routing.retry_before_first_byte)
    exclude: set[str] = set()
    result: RunResult | None = None
    for _ in range(attempts):
        try:
            account = pool.choose(upstream.model, upstream.session_key, upstream.pinned_account,
                                  frozenset(exclude))
        except NoAccountAvailable as exc:
            if result is not None:
                break
            raise no_account_error(exc) from exc
        try:
            result = await _run(request, ctx, invocation, account)
        finally:
            pool.release(account.name)
        failed = pool.report(account.name, _outcome(result))
        if result.response is not None or not failed:
            break
        exclude.add(account.name)
    assert result is not None
    return await _deliver(ctx, record, invocation, result)


def _account_named(ctx: GatewayContext, name: str | None) -> Account | None:
    if name is None:
        return None
    accounts: Any = getattr(ctx.account_pool(), "accounts", ())
    return next((a for a in accounts if a.name == name), None)


def _outcome(result: RunResult) -> UpstreamOutcome:
    failure = result.failure
    if failure is None:
        return UpstreamOutcome(200)
    if failure.status is None:
        reason = CREDENTIAL_UNAVAILABLE if failure.message == CREDENTIAL_UNAVAILABLE else "claude CLI failed"
        return UpstreamOutcome(None, {}, reason)
    return UpstreamOutcome(failure.status, failure.headers)


async def _deliver(ctx: GatewayContext, record: Any, invocation: Invocation, result: RunResult
                   ) -> web.StreamResponse:
    if result.response is None and result.failure is not None:
        raise result.failure.client_error()
    usage = result.usage
    token_id = getattr(record, "id", None)
    inputs = usage.get("input_tokens", 0) + usage.get("cache_read_input_tokens", 0) + usage.get(
        "cache_creation_input_tokens", 0)
    if token_id and (inputs or usage.get("output_tokens")):
        await ctx.token_authority().record_usage(token_id, inputs, usage.get("output_tokens", 0))
    assert result.response is not None
    return result.response


def _home_for(ctx: GatewayContext, account: Account | None) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", account.name) if account else "_own_login"
    home = ctx.data_dir / "cli-home" / name
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(home)


async def _run(request: web.Request, ctx: GatewayContext, invocation: Invocation, account: Account | None
               ) -> RunResult:
    credential: dict[str, str] | None = None
    base_url: str | None = None
    if account is not None:
        try:
            credential = credential_env(await account.credential.auth_headers())
        except CredentialUnavailable:
            return RunResult(None, CliFailure(None, CREDENTIAL_UNAVAILABLE), {})
        base_url = getattr(account, "base_url", None) or ctx.config.upstream.base_url
    home = _home_for(ctx, account)
    env = cli_environment(ctx.environ, home, base_url, credential)
    binary = ctx.config.routing.claude_cli_bin or DEFAULT_BINARY
    try:
        process = await CliProcess.start(binary, invocation.args, env, home, invocation.prompt)
    except CliNotRunnable as exc:
        raise GatewayError(502, "api_error", str(exc)) from exc
    timeouts = ctx.config.upstream.timeouts
    output = CliOutput()
    response: web.StreamResponse | None = None
    failure: CliFailure | None = None
    try:
        while True:
            try:
                async with asyncio.timeout(timeouts.idle if output.started else timeouts.first_byte):
                    line = await process.readline()
            except TimeoutError:
                failure = CliFailure(None, "the claude CLI did not answer in time")
                break
            if not line:
                break
            frames = output.feed(line)
            if invocation.stream and frames:
                if response is None:
                    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
                    await response.prepare(request)
                for frame in frames:
                    await response.write(frame)
        returncode = await process.close()
        failure = failure or output.finish(returncode)
        if response is not None:
            if failure is not None:
                await response.write(sse_error_event(*_error_parts(failure)))
            await response.write_eof()
        elif failure is None:
            response = web.json_response(output.message(), headers={"x-link-assistant-backend": "cli"})
    finally:
        await process.close()
    return RunResult(response, failure, output.usage)


def _error_parts(failure: CliFailure) -> tuple[str, str]:
    error = failure.client_error()
    return error.error_type, error.message
