"""The raw backend: a call with a `RawTarget` goes to that URL as it is, once.

For surfaces that talk to an upstream of their own (an OpenAI-compatible provider, a signed
marketplace node): no account pool, no credential swap (the surface put its credential in the
call's headers), no retry. A timeout is a 504 and a connection failure a 502, both named after the
target's label; each is noted as a failed attempt on the request's record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from dsl.model import TimeoutConfig
from gateway.errors import GatewayError, bad_gateway
from gateway.exchange.interface import AttemptNotes, UpstreamAnswer, UpstreamRequest


class RawBackend:
    def __init__(self, session: Callable[[], aiohttp.ClientSession], timeouts: TimeoutConfig) -> None:
        self._session = session
        self._timeouts = timeouts

    async def open(self, call: UpstreamRequest, notes: AttemptNotes) -> UpstreamAnswer:
        target = call.target
        if target is None:
            raise GatewayError(500, "api_error", "internal error: a raw call without a target")
        url = f"{target.url}?{call.query}" if call.query else target.url
        try:
            async with asyncio.timeout(self._timeouts.first_byte):
                response = await self._session().request(
                    call.method,
                    url,
                    data=call.body,
                    headers=call.headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeouts.connect),
                    allow_redirects=False,
                )
        except TimeoutError:
            notes.note_upstream_error(target.name, "timeout")
            raise GatewayError(504, "api_error", f"{target.label} did not answer in time") from None
        except aiohttp.ClientError as exc:
            notes.note_upstream_error(target.name, "connection")
            raise bad_gateway(f"{target.label} request failed: {type(exc).__name__}") from exc
        return UpstreamAnswer(response, target.name, response.release)
