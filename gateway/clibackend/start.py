"""Start the `claude` CLI for one request and hand back its answer as an upstream response.

`start_cli` runs the CLI with an account's credential (or its own login) up to its first stream
event (streaming) or to its end (non-streaming) and returns a `CliResponse` (the exchange relays
it like a direct answer) or a `CliFailure` that happened before any byte could reach the client.
A failure later in a stream is written into the body as an SSE `error` event and reported through
`on_late_failure`. The choice of account, retries and the hybrid fallback live in the exchange.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dsl.model import TimeoutConfig
from gateway.accounts.outcome import CREDENTIAL_UNAVAILABLE, UpstreamOutcome
from gateway.accounts.pool import PooledAccount
from gateway.clibackend.events import CliFailure, CliOutput
from gateway.clibackend.invocation import DEFAULT_BINARY, Invocation, cli_environment, credential_env
from gateway.clibackend.response import CliBody, CliResponse
from gateway.clibackend.runner import CliNotRunnable, CliProcess
from gateway.credentials.oauth import CredentialUnavailable
from gateway.errors import GatewayError, sse_error_event

SSE_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-link-assistant-backend": "cli",
}
JSON_HEADERS = {"content-type": "application/json", "x-link-assistant-backend": "cli"}


@dataclass(frozen=True)
class CliSettings:
    """What running the CLI needs from the configuration."""

    environ: Mapping[str, str]
    data_dir: Path
    base_url: str
    binary: str | None
    timeouts: TimeoutConfig

    @property
    def program(self) -> str:
        return self.binary or DEFAULT_BINARY


def outcome_of(failure: CliFailure) -> UpstreamOutcome:
    """A CLI failure as the account pool's observation."""
    if failure.status is None:
        reason = CREDENTIAL_UNAVAILABLE if failure.message == CREDENTIAL_UNAVAILABLE else "claude CLI failed"
        return UpstreamOutcome(None, {}, reason)
    return UpstreamOutcome(failure.status, failure.headers)


def _home_for(settings: CliSettings, account: PooledAccount | None) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", account.name) if account else "_own_login"
    home = settings.data_dir / "cli-home" / name
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(home)


async def start_cli(
    settings: CliSettings,
    invocation: Invocation,
    account: PooledAccount | None,
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
        base_url = account.base_url or settings.base_url
    home = _home_for(settings, account)
    env = cli_environment(settings.environ, home, base_url, credential)
    try:
        process = await CliProcess.start(
            settings.program, invocation.args, env, home, invocation.prompt, invocation.system
        )
    except CliNotRunnable as exc:
        raise GatewayError(502, "api_error", str(exc)) from exc
    timeouts = settings.timeouts
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
            on_late_failure(outcome_of(failure))
    finally:
        body.end()
        await process.close()
