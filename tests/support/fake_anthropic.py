"""A stand-in for the Anthropic API on 127.0.0.1:0, speaking its exact JSON and SSE.

It records every request (method, path, query, headers, body) and can be scripted per test:
`fake.then(Step.rate_limited(3), Step.overloaded(), Step.cut_stream(after_events=3))` queues one
behaviour per incoming Messages request; with an empty script it answers normally. It also serves
the OAuth token endpoint (`/v1/oauth/token`) with rotating, single-use refresh tokens, and can
reject unknown credentials with 401 like the real API. Run as a module for benchmarks:
`python -m tests.support.fake_anthropic --port 0` prints the URL and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from tests.support.anthropic_wire import (
    error_json,
    message_events,
    message_json,
    sse_frame,
    tool_use_events,
    tool_use_json,
)


class Kind(StrEnum):
    OK = "ok"
    ERROR = "error"
    CUT_STREAM = "cut_stream"
    STREAM_ERROR = "stream_error"
    SLOW_FIRST_BYTE = "slow_first_byte"
    STALL = "stall"
    JSON_FOR_STREAM = "json_for_stream"
    CUT_JSON = "cut_json"
    TOOL_USE = "tool_use"


@dataclass(frozen=True)
class Step:
    kind: Kind = Kind.OK
    status: int = 200
    error_type: str = ""
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    after_events: int = 0
    seconds: float = 0.0
    tool: tuple[str, str] = ("", "{}")
    """For TOOL_USE: the tool's name and its input as JSON."""

    @staticmethod
    def ok() -> Step:
        return Step()

    @staticmethod
    def error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Step:
        return Step(Kind.ERROR, status, error_type, message, tuple((headers or {}).items()))

    @staticmethod
    def rate_limited(retry_after: int = 30, headers: dict[str, str] | None = None) -> Step:
        return Step.error(
            429, "rate_limit_error", "Rate limited", {"retry-after": str(retry_after), **(headers or {})}
        )

    @staticmethod
    def overloaded() -> Step:
        return Step.error(529, "overloaded_error", "Overloaded")

    @staticmethod
    def unauthorized() -> Step:
        return Step.error(401, "authentication_error", "invalid x-api-key")

    @staticmethod
    def cut_stream(after_events: int = 3) -> Step:
        return Step(Kind.CUT_STREAM, after_events=after_events)

    @staticmethod
    def stream_error(after_events: int = 3) -> Step:
        return Step(Kind.STREAM_ERROR, after_events=after_events)

    @staticmethod
    def slow_first_byte(seconds: float) -> Step:
        return Step(Kind.SLOW_FIRST_BYTE, seconds=seconds)

    @staticmethod
    def stall(after_events: int, seconds: float) -> Step:
        return Step(Kind.STALL, after_events=after_events, seconds=seconds)

    @staticmethod
    def json_for_stream() -> Step:
        return Step(Kind.JSON_FOR_STREAM)

    @staticmethod
    def tool_use(name: str, tool_input: dict[str, Any]) -> Step:
        """Answer with one `tool_use` block (JSON or SSE, as asked); the next step answers the result."""
        return Step(Kind.TOOL_USE, tool=(name, json.dumps(tool_input)))

    @staticmethod
    def cut_json() -> Step:
        """A non-streaming answer whose body stops half-way (content-length promises more)."""
        return Step(Kind.CUT_JSON)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    raw_path: str = ""
    """The path exactly as sent (percent-escapes kept), without the query."""

    def json(self) -> Any:
        return json.loads(self.body)

    def credential(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        return self.headers.get("x-api-key")


@dataclass
class OAuthServerState:
    """Refresh tokens are single-use: each grant rotates both tokens."""

    grants: dict[str, str] = field(default_factory=dict)  # refresh token -> account label
    calls: int = 0
    delay: float = 0.0
    expires_in: int = 28800
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    throttle_next: int = 0
    """Answer this many refresh calls with 429 (retry-after 60) before serving again."""


__all__ = [
    "FakeAnthropic",
    "Kind",
    "SeenRequest",
    "Step",
    "error_json",
    "message_events",
    "message_json",
    "sse_frame",
]


class FakeAnthropic:
    def __init__(
        self,
        text: str = "Hello from the fake upstream",
        accepted: set[str] | None = None,
        record: bool = True,
    ) -> None:
        self.text = text
        self.accepted = accepted  # None: any credential is fine
        self.record = record
        self.requests: list[SeenRequest] = []
        self.script: deque[Step] = deque()
        self.oauth = OAuthServerState()
        self.disconnects = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- scripting ---------------------------------------------------------------------------
    def then(self, *steps: Step) -> FakeAnthropic:
        self.script.extend(steps)
        return self

    def grant_refresh(self, refresh_token: str, label: str = "acct") -> None:
        self.oauth.grants[refresh_token] = label

    def messages_requests(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == "/v1/messages"]

    # -- lifecycle ---------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        app.router.add_post("/v1/oauth/token", self._oauth_token)
        app.router.add_route("*", "/{tail:.*}", self._other)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(
            self.app(), handle_signals=False, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAnthropic:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- handlers ----------------------------------------------------------------------------
    async def _seen(self, request: web.Request) -> SeenRequest:
        body = await request.read()
        seen = SeenRequest(
            request.method,
            request.path,
            request.raw_path.partition("?")[2],
            {k.lower(): v for k, v in request.headers.items()},
            body,
            request.raw_path.partition("?")[0],
        )
        if self.record:
            self.requests.append(seen)
        return seen

    def _refused(self, seen: SeenRequest) -> web.Response | None:
        if self.accepted is not None and seen.credential() not in self.accepted:
            return web.json_response(error_json("authentication_error", "invalid x-api-key"), status=401)
        return None

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        seen = await self._seen(request)
        refused = self._refused(seen)
        if refused is not None:
            return refused
        step = self.script.popleft() if self.script else Step()
        try:
            payload = seen.json()
        except (ValueError, RecursionError):  # nested too deep to parse is refused like bad JSON
            return web.json_response(error_json("invalid_request_error", "body is not JSON"), status=400)
        model = str(payload.get("model", "claude-test"))
        if step.kind is Kind.ERROR:
            return web.json_response(
                error_json(step.error_type, step.message), status=step.status, headers=dict(step.headers)
            )
        if step.kind is Kind.SLOW_FIRST_BYTE:
            try:
                await asyncio.sleep(step.seconds)
            except asyncio.CancelledError:
                self.disconnects += 1  # the caller went away before the answer started
                raise
        if step.kind is Kind.CUT_JSON:
            return await self._cut_json(request, model)
        if step.kind is Kind.TOOL_USE:
            name, tool_input = step.tool[0], json.loads(step.tool[1])
            if not payload.get("stream"):
                return web.json_response(tool_use_json(model, "toolu_fake01", name, tool_input))
            return await self._frames(request, tool_use_events(model, "toolu_fake01", name, tool_input))
        if not payload.get("stream") or step.kind is Kind.JSON_FOR_STREAM:
            return web.json_response(message_json(model, self.text), headers={"request-id": "req_fake"})
        return await self._stream(request, step, model)

    async def _cut_json(self, request: web.Request, model: str) -> web.StreamResponse:
        body = json.dumps(message_json(model, self.text)).encode()
        response = web.StreamResponse(headers={"content-type": "application/json"})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    async def _stream(self, request: web.Request, step: Step, model: str) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "content-type": "text/event-stream",
                "request-id": "req_fake",
                "cache-control": "no-cache",
            }
        )
        await response.prepare(request)
        try:
            for i, frame in enumerate(message_events(model, self.text)):
                if step.after_events and i == step.after_events:
                    if step.kind is Kind.CUT_STREAM:
                        assert request.transport is not None
                        request.transport.close()
                        return response
                    if step.kind is Kind.STREAM_ERROR:
                        await response.write(sse_frame("error", error_json("overloaded_error", "Overloaded")))
                        await response.write_eof()
                        return response
                    if step.kind is Kind.STALL:
                        await asyncio.sleep(step.seconds)
                await response.write(frame)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects += 1
            raise
        return response

    async def _frames(self, request: web.Request, frames: list[bytes]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream", "request-id": "req_fake"})
        await response.prepare(request)
        for frame in frames:
            await response.write(frame)
        await response.write_eof()
        return response

    async def _count_tokens(self, request: web.Request) -> web.Response:
        seen = await self._seen(request)
        refused = self._refused(seen)
        if refused is not None:
            return refused
        return web.json_response({"input_tokens": max(1, len(seen.body) // 16)})

    async def _oauth_token(self, request: web.Request) -> web.Response:
        seen = await self._seen(request)
        self.oauth.calls += 1
        if self.oauth.delay:
            await asyncio.sleep(self.oauth.delay)
        if self.oauth.throttle_next > 0:
            self.oauth.throttle_next -= 1
            return web.json_response({"error": "rate_limited"}, status=429, headers={"retry-after": "60"})
        try:
            payload = seen.json()
        except ValueError:
            return web.json_response({"error": "invalid_request"}, status=400)
        old = payload.get("refresh_token")
        if payload.get("grant_type") != "refresh_token" or old not in self.oauth.grants:
            return web.json_response(
                {"error": "invalid_grant", "error_description": "bad refresh"}, status=400
            )
        label = self.oauth.grants.pop(old)
        n = next(self.oauth.counter)
        access, refresh = f"sk-ant-oat01-{label}-rotated-{n}", f"sk-ant-ort01-{label}-rotated-{n}"
        self.oauth.grants[refresh] = label
        if self.accepted is not None:
            self.accepted.add(access)
        return web.json_response(
            {
                "token_type": "Bearer",
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": self.oauth.expires_in,
                "scope": "user:inference",
            }
        )

    async def _other(self, request: web.Request) -> web.Response:
        seen = await self._seen(request)
        refused = self._refused(seen)
        if refused is not None:
            return refused
        return web.json_response(error_json("not_found_error", f"Not found: {seen.path}"), status=404)


async def _serve(port: int, text: str) -> None:
    fake = FakeAnthropic(text=text, record=False)
    url = await fake.start(port=port)
    print(url, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake Anthropic API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--text", default="Hello from the fake upstream")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.text))


if __name__ == "__main__":
    main()
