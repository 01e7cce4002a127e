"""Crater: `/v1/chat/completions` answered by a ForgeFed ticket tracker (`UPSTREAM_PROVIDER=crater`).

A door of the exchange pipeline, like any provider: `CraterSurface` turns the chat request into the
upstream call (the Offer{Ticket} activity is its body), `CraterBackend` carries it out, and the
pipeline authorizes, relays and settles usage as on every route. The backend's flow: the signed
Offer goes to `CRATER_FORGEFED_INBOX`; the task URI comes from the Accept, in the POST reply or, as
the spec allows, delivered later to our inbox; the task is polled (signed GET) every
`CRATER_POLL_INTERVAL_MS` until `isResolved: true`, for at most `CRATER_POLL_TIMEOUT_SECS` in all
(then 504). Time comes from the federation's clock, so tests run the waits in virtual time.

The backend's "upstream response" (a byte pipe, the one the CLI backend uses) is the resolved task:
JSON for a plain request, or, for a streamed one, a line protocol (`crater_flow.wait_line`,
`task_line`, `error_line`) that starts at once, so the client's SSE opens immediately and gets a
keep-alive comment per poll while the task runs; a client that leaves cancels the polling.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dsl.model import RouterConfig
from gateway.clibackend.response import CliBody, CliResponse
from gateway.context import GATEWAY
from gateway.errors import GatewayError
from gateway.exchange.interface import (
    AttemptNotes,
    Incoming,
    RawTarget,
    Relay,
    Reply,
    UpstreamAnswer,
    UpstreamRequest,
    Whole,
)
from gateway.forgefed import crater_flow as flow
from gateway.forgefed.federation import Federation
from gateway.forgefed.remote import RemoteAnswer, RemoteError
from gateway.forgefed.surface import FEDERATION
from gateway.tokens.records import TokenRecord

log = logging.getLogger(__name__)
ERROR_TYPE = flow.ERROR_TYPE
STREAM_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
OnWait = Callable[[], None]
BodyParser = Callable[[Incoming], dict[str, Any]]
CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class CraterSettings:
    inbox: str
    target: str
    actor: str
    interval: float
    timeout: float

    @classmethod
    def of(cls, config: RouterConfig, actor_url: str) -> CraterSettings:
        crater = config.crater
        inbox = crater.inbox or ""
        return cls(
            inbox=inbox,
            target=crater.target or inbox,
            actor=crater.actor or actor_url,
            interval=max(crater.poll_interval_ms, 1) / 1000.0,
            timeout=float(crater.poll_timeout_secs),
        )


def _nothing() -> None:
    return None


async def run_task(
    federation: Federation, settings: CraterSettings, offer: dict[str, Any], on_wait: OnWait = _nothing
) -> dict[str, Any]:
    """Deliver the Offer and wait for its ticket to resolve; the resolved task JSON, or `TaskError`."""
    if not settings.inbox:
        raise flow.TaskError(502, "CRATER_FORGEFED_INBOX is required for crater provider")
    clock = federation.clock
    deadline = clock.monotonic() + settings.timeout
    offer_id = str(offer["id"])
    waiter = federation.expect_reply(offer_id)  # before sending: the Accept may beat the POST reply
    try:
        answer = await _call(federation.remote.post(settings.inbox, offer))
        if answer.status >= 300:
            detail = f": {answer.text()}" if answer.text() else ""
            raise flow.TaskError(502, f"ForgeFed delivery failed with HTTP {answer.status}{detail}")
        reply = _json(answer, "ForgeFed inbox")
        while flow.reply_kind(reply) is None:  # 202: the tracker answers later, by delivery
            if waiter.done():
                reply = waiter.result()
                break
            if clock.monotonic() >= deadline:
                raise flow.TaskError(504, f"the Offer was not answered within {settings.timeout:g} seconds")
            await _wait(waiter, clock.sleep(settings.interval))
            on_wait()
        uri = flow.task_uri(reply)
    finally:
        federation.forget(offer_id)
    while True:
        polled = await _call(federation.remote.get(uri))
        if polled.status >= 300:
            raise flow.TaskError(502, f"ForgeFed task poll failed with HTTP {polled.status}")
        task = _json(polled, "ForgeFed task")
        if flow.is_resolved(task):
            return dict(task)
        if clock.monotonic() >= deadline:
            raise flow.TaskError(504, f"task {uri} did not resolve within {settings.timeout:g} seconds")
        await clock.sleep(settings.interval)
        on_wait()


async def _call(request: Awaitable[RemoteAnswer]) -> RemoteAnswer:
    try:
        return await request
    except RemoteError as exc:
        raise flow.TaskError(502, f"ForgeFed request failed: {exc}") from None


def _json(answer: RemoteAnswer, what: str) -> Any:
    try:
        return answer.json()
    except RemoteError:
        raise flow.TaskError(502, f"{what} answered with invalid JSON") from None


async def _wait(waiter: asyncio.Future[Any], sleep: Awaitable[None]) -> None:
    """Until the Accept arrives or one poll interval passes, whichever is first."""
    sleeper = asyncio.ensure_future(sleep)
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()


class CraterBackend:
    """Carries out a Crater call: the Offer in `call.body`, streamed when the call accepts SSE."""

    def __init__(self, federation: Federation, settings: CraterSettings) -> None:
        self._federation = federation
        self._settings = settings

    async def open(self, call: UpstreamRequest, notes: AttemptNotes) -> UpstreamAnswer:
        offer = json.loads(call.body)
        if dict(call.headers).get("accept") != "text/event-stream":
            try:
                task = await run_task(self._federation, self._settings, offer)
            except flow.TaskError as exc:
                notes.note_upstream_error("crater", "timeout" if exc.status == 504 else "server_error")
                raise GatewayError(exc.status, ERROR_TYPE, exc.message) from None
            body = CliBody()
            body.feed(json.dumps(task).encode())
            body.end()
            return UpstreamAnswer(CliResponse(200, {"content-type": "application/json"}, body), "crater")
        body = CliBody()
        pump = asyncio.get_running_loop().create_task(self._pump(offer, body, notes))
        response = CliResponse(200, {"content-type": flow.LINES_TYPE}, body, pump)
        return UpstreamAnswer(response, "crater", response.close)

    async def _pump(self, offer: dict[str, Any], body: CliBody, notes: AttemptNotes) -> None:
        try:
            task = await run_task(
                self._federation, self._settings, offer, lambda: body.feed(flow.wait_line())
            )
            body.feed(flow.task_line(task))
        except flow.TaskError as exc:
            notes.note_upstream_error("crater", "timeout" if exc.status == 504 else "server_error")
            body.feed(flow.error_line(exc))
        finally:
            body.end()


class CraterSurface:
    """An OpenAI route's door to Crater: chat completions only (`/v1/responses` is a 400 here; the
    seed sent it to Anthropic). `parse` reads the route's JSON body (with its `?stream=true`)."""

    def __init__(self, path: str, parse: BodyParser, settings: CraterSettings) -> None:
        self._path = path
        self._parse = parse
        self._settings = settings

    async def translator(self, incoming: Incoming, record: TokenRecord) -> CraterTranslator:
        if self._path != CHAT_PATH:
            raise GatewayError(
                400, "invalid_request_error", f"UPSTREAM_PROVIDER=crater serves {CHAT_PATH} only"
            )
        body = self._parse(incoming)
        try:
            ticket = flow.ticket_of(body, self._settings.actor)
        except flow.TaskError as exc:
            raise GatewayError(exc.status, ERROR_TYPE, exc.message) from None
        offer_id = f"{self._settings.actor}/activities/offer-{uuid.uuid4()}"
        offer = flow.offer(ticket, self._settings.actor, self._settings.target, offer_id)
        stream = body.get("stream") is True
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        call = UpstreamRequest(
            method="POST",
            path=self._path,
            query="",
            headers=(("accept", "text/event-stream" if stream else "application/json"),),
            body=json.dumps(offer).encode(),
            model=ticket.model,
            target=RawTarget(self._settings.inbox, "crater", "ForgeFed tracker"),
        )
        return CraterTranslator(call, ticket.model, stream, include_usage)


class CraterTranslator:
    def __init__(self, call: UpstreamRequest, model: str, stream: bool, include_usage: bool) -> None:
        self.call = call
        self._answer = flow.Answer(f"chatcmpl-{uuid.uuid4()}", flow.now(), model)
        self._stream = stream
        self._include_usage = include_usage

    def answer(self, status: int, reason: str | None, headers: Mapping[str, str]) -> Relay | Whole:
        if self._stream:
            return Relay(flow.StreamCodec(self._answer, self._include_usage), 200, STREAM_HEADERS)
        return Whole(self._whole)

    def _whole(self, raw: bytes | None) -> Reply:
        if raw is None:
            raise GatewayError(502, ERROR_TYPE, "the ForgeFed task answer broke off")
        task = json.loads(raw)
        usage = flow.usage_of(task)
        body = self._answer.completion(flow.answer_text(task), usage)
        return Reply(
            200, {"content-type": "application/json"}, json.dumps(body).encode(), flow.usage_record(usage)
        )


def crater_parts(app: web.Application) -> tuple[CraterSettings, CraterBackend] | None:
    """Crater's settings and backend for the app's wiring, or None when the actor was not built.

    Start-up also says what will not work: a different CRATER_FORGEFED_ACTOR, or no inbox route."""
    if FEDERATION not in app:
        return None
    federation = app[FEDERATION]
    config = app[GATEWAY].config
    settings = CraterSettings.of(config, federation.urls.actor)
    if settings.actor != federation.urls.actor:
        log.warning(
            "CRATER_FORGEFED_ACTOR (%s) is not the router's actor (%s): offers are signed with the "
            "router's key, so a tracker that checks the signer against the Offer's actor will refuse them",
            settings.actor,
            federation.urls.actor,
        )
    if not config.features.activitypub:
        log.warning(
            "ActivityPub routes are disabled: a Crater tracker that answers an Offer later, by delivery "
            "to the router's inbox, cannot reach it; only an Accept in the reply to the Offer works"
        )
    return settings, CraterBackend(federation, settings)
