"""The `cli` and `hybrid` backends: an `UpstreamAnswer` from the `claude` CLI.

Only `POST /v1/messages` can go through the CLI; anything else takes the direct backend in every
mode. `CliBackend` chooses an account from the pool (pinning, affinity, cooldowns apply), runs the
CLI with that account's credential, reports the outcome to the pool, and retries on another account
when the run failed for the account's sake before its first event (bounded like the direct loop).
`HybridBackend` runs the direct path first; when it fails for auth (401/403), quota/rate limit (429)
or no account is left, the request goes through the CLI with the account that failed (the real
Claude Code client may still be served), else the key's pinned account, else an account direct
traffic refused for auth, else the CLI's own login. Each failed attempt is noted on the request's
record. The answer is a `CliResponse`, which the pipeline relays exactly like a direct one.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.accounts.outcome import NoAccountAvailable, UpstreamOutcome
from gateway.accounts.pool import AccountPool, PooledAccount
from gateway.accounts.retry import no_account_error, retry_after_header
from gateway.accounts.select import model_allowed
from gateway.accounts.state import CooldownReason
from gateway.clibackend.events import CliFailure
from gateway.clibackend.invocation import build_invocation, parse_body
from gateway.clibackend.start import CliSettings, outcome_of, start_cli
from gateway.errors import GatewayError
from gateway.exchange.direct import DirectBackend, slot_releaser
from gateway.exchange.interface import AttemptNotes, UpstreamAnswer, UpstreamRequest

FALLBACK_STATUSES = frozenset({401, 403, 429})
NO_ACCOUNT_PREFIX = "Upstream authentication unavailable"
OWN_LOGIN = "cli-own-login"


def uses_cli(method: str, path: str) -> bool:
    return method == "POST" and path == "/v1/messages"


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


class CliBackend:
    """Every Messages request through the CLI, on the pool's accounts."""

    def __init__(self, direct: DirectBackend, settings: CliSettings, retries: int) -> None:
        self.direct = direct
        self.pool: AccountPool = direct.pool
        self.settings = settings
        self.attempts = 1 + max(0, retries)

    async def open(self, call: UpstreamRequest, notes: AttemptNotes) -> UpstreamAnswer:
        if not uses_cli(call.method, call.path):
            return await self.direct.open(call, notes)
        return await self.pooled(call, notes)

    async def pooled(self, call: UpstreamRequest, notes: AttemptNotes) -> UpstreamAnswer:
        invocation = build_invocation(parse_body(call.body))
        pool = self.pool
        exclude: set[str] = set()
        last: CliFailure | None = None
        for _ in range(self.attempts):
            try:
                chosen = pool.choose(call.model, call.session_key, call.pinned_account, frozenset(exclude))
            except NoAccountAvailable as exc:
                if last is not None:
                    break
                raise no_account_error(exc) from exc
            name = chosen.name
            try:
                started = await start_cli(self.settings, invocation, chosen, _reporter(pool, name))
            except BaseException:
                pool.release(name)
                raise
            if isinstance(started, CliFailure):
                pool.release(name)
                last = started
                verdict = pool.report(name, outcome_of(started))
                if not verdict.account_failed:
                    break
                notes.note_upstream_error(name, str(verdict.kind))
                exclude.add(name)
                continue
            pool.report(name, UpstreamOutcome(200))
            return UpstreamAnswer(started, name, slot_releaser(pool, name, started, started.close))
        assert last is not None
        error = last.client_error()
        error.headers.update(retry_after_header(pool.recovery_wait(call.model, call.pinned_account)))
        raise error

    async def fallback(self, call: UpstreamRequest, account_name: str | None) -> UpstreamAnswer:
        """Hybrid: through the CLI with this account (None: the CLI's own login), no retries."""
        invocation = build_invocation(parse_body(call.body))
        name = account_name or call.pinned_account  # a pin is never served by another identity
        account = _account_named(self.pool, name)
        if name is not None and account is None:
            raise GatewayError(502, "api_error", f"{NO_ACCOUNT_PREFIX}: account {name!r} is not configured")
        started = await start_cli(self.settings, invocation, account, lambda outcome: None)
        if isinstance(started, CliFailure):
            error = started.client_error()
            wait = self.pool.recovery_wait(call.model, call.pinned_account)
            error.headers.update(retry_after_header(wait))
            raise error
        return UpstreamAnswer(started, name or OWN_LOGIN, started.close)


class HybridBackend:
    """Direct first; the CLI when direct fails for auth, quota or lack of accounts."""

    def __init__(self, cli: CliBackend) -> None:
        self.cli = cli
        self.direct = cli.direct
        self.pool = cli.pool

    async def open(self, call: UpstreamRequest, notes: AttemptNotes) -> UpstreamAnswer:
        if not uses_cli(call.method, call.path):
            return await self.direct.open(call, notes)
        try:
            answer = await self.direct.open(call, notes)
        except GatewayError as err:
            if not falls_back(err, call.body) or self._drained(call.pinned_account):
                raise  # an admin's drain holds for the CLI too
            parked = None if call.pinned_account else self.refused_direct(call.model)
            return await self.cli.fallback(call, parked)
        if not falls_back(answer.response.status, call.body):
            return answer
        answer.finish()
        return await self.cli.fallback(call, answer.account)

    def refused_direct(self, model: str | None) -> str | None:
        """With no account left for direct traffic: one that direct refused (auth), which the real
        Claude Code client may still be allowed to use; None when there is none (then the CLI's own login)."""
        for state in self.pool.states():
            if (
                state.cooldown_reason is CooldownReason.AUTH
                and not state.drained
                and model_allowed(state.models, model)
            ):
                return state.name
        return None

    def _drained(self, name: str | None) -> bool:
        return any(s.name == name and s.drained for s in self.pool.states())


def _account_named(pool: AccountPool, name: str | None) -> PooledAccount | None:
    if name is None:
        return None
    return next((a for a in pool.accounts if a.name == name), None)


def _reporter(pool: AccountPool, name: str) -> Callable[[UpstreamOutcome], None]:
    """Tells the pool about a failure that happens after the stream reached the client."""

    def report(outcome: UpstreamOutcome) -> None:
        pool.report(name, outcome)

    return report
