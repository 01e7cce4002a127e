"""Connection guards for the HTTP listener: header-read timeout, keep-alive idle timeout, a cap.

aiohttp alone keeps a connection that trickles header bytes (slowloris) until its keep-alive
timeout, and accepts connections without limit. Here each connection is an aiohttp
`RequestHandler` that additionally
* closes the connection with a 408 when a request's headers are not complete `header_timeout`
  seconds after the connection opened or the request's first byte arrived;
* is closed after `keepalive_timeout` seconds idle between requests (aiohttp's own timer);
* is refused at once with a 503 (JSON, `Retry-After`) when `max_connections` are already open.

`GuardedTCPSite` is `web.TCPSite` with this handler as the protocol. It reads three private
fields of aiohttp's handler (`_request_count`, `_request_in_progress`, `_messages`): the only way
to know whether a request's headers have been parsed; the tests pin that behaviour.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    keepalive_timeout: float = 75.0
    max_connections: int = 10_000


@dataclass
class _OpenCount:
    value: int = 0


def _raw_response(status: str, message: str, error_type: str, extra: str = "") -> bytes:
    body = json.dumps({"type": "error", "error": {"type": error_type, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHandler(RequestHandler):
    def __init__(
        self, manager: web.Server, limits: ConnectionLimits, count: _OpenCount, **kwargs: Any
    ) -> None:
        super().__init__(manager, keepalive_timeout=limits.keepalive_timeout, **kwargs)
        self._limits = limits
        self._count = count
        self._counted = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._armed_at_request = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._count.value >= self._limits.max_connections:
            message = f"too many open connections (limit {self._limits.max_connections}); retry shortly"
            assert isinstance(transport, asyncio.Transport)
            retry = "Retry-After: 1\r\n"
            refusal = _raw_response("503 Service Unavailable", message, "overloaded_error", retry)
            transport.write(refusal)
            transport.close()
            return
        self._count.value += 1
        self._counted = True
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if not self._counted:
            return
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:  # a request's headers are complete
            self._cancel_header_timer()
        elif self._header_timer is None and not self._request_in_progress and not self._messages:
            self._arm_header_timer()  # the first bytes of a new request on a kept-alive connection

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._counted:
            return
        self._counted = False
        self._count.value -= 1
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._limits.header_timeout <= 0:  # 0 turns the header timeout off
            return
        self._armed_at_request = self._request_count
        self._header_timer = self._loop.call_later(self._limits.header_timeout, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._request_count != self._armed_at_request or self._request_in_progress or self._messages:
            return
        if self.transport is not None:
            message = f"request headers not received within {self._limits.header_timeout:g}s"
            self.transport.write(_raw_response("408 Request Timeout", message, "invalid_request_error"))
        self.force_close()


class GuardedTCPSite(web.TCPSite):
    """`web.TCPSite` whose connections are `GuardedHandler`s sharing one open-connection count."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        limits: ConnectionLimits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self._limits = limits

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site; TCPSite.start would bind aiohttp's handler
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        count = _OpenCount()

        def factory() -> GuardedHandler:
            return GuardedHandler(server, self._limits, count, loop=loop, access_log=None)

        self._server = await loop.create_server(
            factory,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port
