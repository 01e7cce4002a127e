"""Relay an upstream response to the client chunk by chunk, with no buffering.

Bytes are written as they arrive (`readany` → `StreamResponse.write`); the status line and headers
leave with the first chunk. The idle timeout bounds the gap between two chunks. After headers are
sent an error can only be told in-band: an SSE `error` event on event streams (also when shutdown
ends a stream past its grace period); other bodies are cut so the client sees an incomplete
response, never a silent short one. If the client goes away, the upstream connection is closed,
which cancels the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping

import aiohttp
from aiohttp import web

from gateway.proxy.headers import client_response_headers, is_event_stream

log = logging.getLogger(__name__)


class _CoalescingResponse(web.StreamResponse):
    """Headers leave with the first body chunk (one send instead of two), as `web.Response` does.

    Streams lose nothing: the forwarding loop hands over a response whose first bytes have arrived.
    """

    _send_headers_immediately = False


def sse_error_event(error_type: str, message: str) -> bytes:
    data = json.dumps({"type": "error", "error": {"type": error_type, "message": message}})
    return f"event: error\ndata: {data}\n\n".encode()


async def relay(
    request: web.Request,
    upstream: aiohttp.ClientResponse,
    idle_timeout: float,
    on_chunk: Callable[[bytes], None] | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    headers = client_response_headers(upstream.headers.items())
    headers.update(extra_headers or {})
    response = _CoalescingResponse(status=upstream.status, reason=upstream.reason, headers=headers)
    sse = is_event_stream(upstream.headers)
    completed = False
    last = b"\n\n"
    try:
        await response.prepare(request)
        content = upstream.content
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    chunk = await content.readany()
            except TimeoutError:
                log.warning("upstream stream idle for %.1fs; closing it", idle_timeout)
                await _fail(request, response, sse, last, "Upstream stream timed out")
                return response
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
                log.warning("upstream stream broke: %s", type(exc).__name__)
                await _fail(request, response, sse, last, "Upstream stream interrupted")
                return response
            if not chunk:
                break
            if on_chunk is not None:
                on_chunk(chunk)
            await response.write(chunk)
            last = chunk
        await response.write_eof()
        completed = True
        return response
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        log.info("client went away; cancelling the upstream request")
        return response
    except asyncio.CancelledError:
        # A client that left closed its transport; one still connected is being cut by shutdown
        # after the grace period: tell an event-stream client why instead of just hanging up.
        transport = request.transport
        if sse and response.prepared and transport is not None and not transport.is_closing():
            with contextlib.suppress(Exception):
                await _fail(request, response, sse, last, "The gateway is shutting down")
        raise
    finally:
        if completed:
            upstream.release()
        else:
            upstream.close()


async def _fail(
    request: web.Request, response: web.StreamResponse, sse: bool, last: bytes, message: str
) -> None:
    if sse:
        # Close any half-sent frame so the error event parses as its own event.
        prefix = b"" if last.endswith(b"\n\n") else b"\n\n"
        await response.write(prefix + sse_error_event("api_error", message))
        await response.write_eof()
        return
    # A plain body cannot carry an error once started: drop the connection so the client sees a
    # truncated response instead of a short one that looks complete.
    if request.transport is not None:
        request.transport.close()
