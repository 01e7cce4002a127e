"""The seams of the exchange pipeline: what a surface, a backend and a body codec must provide.

Pure declarations (Protocols and frozen records); no I/O and no aiohttp here. The pipeline
(`gateway.exchange.pipeline.run`) owns authorize → admit → backend → retries before the first byte →
relay → settle; a surface only says how its request becomes an upstream call and how the upstream's
answer becomes its client's answer:

- `Surface.translator(incoming, record)` parses and validates the client's body (raising a
  `GatewayError`, which the error middleware renders in the route's own error shape) and returns a
  per-request `Translator`. It must not mutate its input: retries resend `Translator.call`.
- `Translator.call` is the upstream request: an Anthropic Messages request for the account-pool
  backends, or a raw request for a backend of the surface's own (see `Backend`).
- `Translator.answer(status, reason, headers)` looks at the upstream's status and headers and picks either
  `Relay` (body bytes flow through a `BodyCodec` state machine, chunk by chunk) or `Whole` (the body
  is read to the end and turned into one `Reply`, e.g. a translated JSON answer or an error, raised
  as a `GatewayError`).
- Usage is read by the codec (`BodyCodec.usage`) or returned in the `Reply`; the pipeline settles it
  once, by one rule (`Usage.budget_input` / `Usage.output`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.errors import GatewayError
    from gateway.tokens.records import TokenRecord


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one answer, by type, as the upstream reported them.

    The usage rule, the same on every surface: a key's token budget is charged
    `input + cache_read + cache_write` input tokens (`budget_input`) and `output` output tokens;
    `/v1/usage` and the token metrics count the four types separately.
    """

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def budget_input(self) -> int:
        return self.input + self.cache_read + self.cache_write

    def __bool__(self) -> bool:
        return bool(self.input or self.output or self.cache_read or self.cache_write)


NO_USAGE = Usage()


@dataclass(frozen=True, slots=True)
class RawTarget:
    """A surface's own upstream (an OpenAI-compatible provider, a signed marketplace node): the call
    goes to `url` (the query appended) with the call's headers as they are (the surface set the
    credential), once, no account pool. `name` stands for the account in telemetry; `label` names
    the upstream in error messages ("OpenAI-compatible upstream did not answer in time")."""

    url: str
    name: str
    label: str = "Upstream"


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """One upstream call, built once per client request and resent unchanged on a retry.

    `target` None: an Anthropic API call through the account pool (direct, cli or hybrid backend,
    which swaps in the account's credential); a `RawTarget`: sent as it is to that upstream.
    """

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    model: str | None = None
    session_key: str | None = None
    pinned_account: str | None = None
    target: RawTarget | None = None


class UpstreamBody(Protocol):
    """The body of an upstream answer (aiohttp's `StreamReader`, or the CLI backend's pipe)."""

    async def readany(self) -> bytes: ...

    async def read(self, n: int = -1) -> bytes: ...


class UpstreamResponse(Protocol):
    """An upstream answer whose status and headers have arrived."""

    @property
    def status(self) -> int: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> UpstreamBody: ...

    def release(self) -> object: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class UpstreamAnswer:
    """What a backend opened. The pipeline relays `response`, then calls `finish()` exactly once."""

    response: UpstreamResponse
    account: str
    finish: Callable[[], None] = lambda: None
    """Releases the response and gives the account's concurrency slot back (idempotent)."""
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    """Headers set on a relayed client response over the upstream's (e.g. `retry-after`)."""


class AttemptNotes(Protocol):
    """Where a backend notes each failed upstream attempt (the pipeline's per-request record)."""

    def note_upstream_error(self, account: str, kind: str) -> None: ...


class Backend(Protocol):
    """Opens an upstream answer for a call: direct to the API, through the `claude` CLI, or hybrid
    (picked once by the wiring function); a call with a `RawTarget` goes through the raw backend.
    A surface with an upstream of its own kind may pass its own backend to `run`. Retries before the
    first byte happen inside `open`; a failure nobody can serve raises `GatewayError`."""

    async def open(self, call: UpstreamRequest, notes: AttemptNotes) -> UpstreamAnswer: ...


class BodyCodec(Protocol):
    """Upstream body bytes in, client body bytes out, for one response. Pure: a state machine.

    `feed` may return the chunk itself (pass-through) or translated frames (possibly b"");
    `finish` whatever closes the body after the upstream ended cleanly (b"" if nothing);
    `fail` the in-band error once headers are sent (an SSE `error` frame), or None to cut the
    connection so the client sees a truncated body. `done` turns true when the client's body is
    complete (the relay then stops reading). `usage` is read when the relay ends.
    """

    @property
    def done(self) -> bool: ...

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...

    def fail(self, error: GatewayError) -> bytes | None: ...

    @property
    def usage(self) -> Usage: ...


@dataclass(frozen=True)
class Reply:
    """A whole client answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    usage: Usage = NO_USAGE


@dataclass(frozen=True)
class Relay:
    """Answer by relaying the upstream body through `codec`, with this status and these headers."""

    codec: BodyCodec
    status: int
    headers: Mapping[str, str]
    reason: str | None = None


@dataclass(frozen=True)
class Whole:
    """Answer after reading the whole upstream body (at most `limit` bytes): `convert(body)` makes
    the reply or raises a `GatewayError`; `body` is None when the upstream broke off mid-body."""

    convert: Callable[[bytes | None], Reply]
    limit: int = 64 * 1024 * 1024


class Translator(Protocol):
    """One client request on its way through the exchange, as its surface sees it."""

    @property
    def call(self) -> UpstreamRequest: ...

    def answer(self, status: int, reason: str | None, headers: Mapping[str, str]) -> Relay | Whole: ...


@dataclass(frozen=True, slots=True)
class Incoming:
    """The client's request as the pipeline read it: path as written (legacy prefix stripped), raw
    query, headers, and the body (already bounded by the server's body limit)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


class Surface(Protocol):
    """One door of the gateway (Messages, Chat, Responses, a provider, Bedrock, ...)."""

    async def translator(self, incoming: Incoming, record: TokenRecord) -> Translator:
        """Parse the client's request (raise `GatewayError` 400 in this surface's terms)."""
        ...
