"""The one relay loop: upstream body → `BodyCodec` → client, chunk by chunk, with no buffering.

Bytes are written as they arrive (`readany` → codec → `StreamResponse.write`); the status line and
headers leave with the first chunk. The idle timeout bounds the gap between two upstream chunks.
After headers are sent an error can only be told in-band: the codec's `fail` frame (an SSE `error`
event, also when shutdown ends a stream past its grace period), or, when it has none, a cut
connection so the client sees an incomplete body, never a silent short one. If the client goes
away, the upstream connection is closed, which cancels the upstream request.

This loop is the hot path of every surface: keep it to one codec call and one write per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from aiohttp import web

from gateway.errors import GatewayError
from gateway.exchange.interface import BodyCodec, Relay, UpstreamResponse
from gateway.telemetry.request_info import RequestInfo

log = logging.getLogger(__name__)

TIMED_OUT = (504, "api_error", "Upstream stream timed out")
INTERRUPTED = (502, "api_error", "Upstream stream interrupted")
SHUTTING_DOWN = (503, "api_error", "The gateway is shutting down")


class _CoalescingResponse(web.StreamResponse):
    """Headers leave with the first body chunk (one send instead of two), as `web.Response` does.

    Streams lose nothing: the backends hand over a response whose first bytes have arrived.
    """

    _send_headers_immediately = False


async def relay(
    request: web.Request, upstream: UpstreamResponse, plan: Relay, idle_timeout: float, info: RequestInfo
) -> web.StreamResponse:
    response = _CoalescingResponse(status=plan.status, reason=plan.reason, headers=plan.headers)
    codec = plan.codec
    completed = False
    try:
        await response.prepare(request)
        content = upstream.content
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    chunk = await content.readany()
            except TimeoutError:
                log.warning("upstream stream idle for %.1fs; closing it", idle_timeout)
                await _fail(request, response, codec, GatewayError(*TIMED_OUT))
                return response
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
                log.warning("upstream stream broke: %s", type(exc).__name__)
                await _fail(request, response, codec, GatewayError(*INTERRUPTED))
                return response
            if not chunk:
                break
            out = codec.feed(chunk)
            if out:
                if info.first_token_s is None:
                    info.mark_first_token()
                await response.write(out)
            if codec.done:
                break  # the client's body is complete; do not wait for the upstream to hang up
        tail = codec.finish()
        if tail:
            info.mark_first_token()
            await response.write(tail)
        await response.write_eof()
        completed = True
        return response
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        log.info("client went away; cancelling the upstream request")
        return response
    except asyncio.CancelledError:
        # A client that left closed its transport; one still connected is being cut by shutdown
        # after the grace period: tell it why instead of just hanging up.
        transport = request.transport
        if response.prepared and transport is not None and not transport.is_closing():
            frame = codec.fail(GatewayError(*SHUTTING_DOWN))
            if frame is not None:
                with contextlib.suppress(Exception):
                    await response.write(frame)
                    await response.write_eof()  # a well-ended body: clients read the error, not a cut
        raise
    finally:
        if completed:
            upstream.release()
        else:
            upstream.close()


async def _fail(
    request: web.Request, response: web.StreamResponse, codec: BodyCodec, error: GatewayError
) -> None:
    frame = codec.fail(error)
    if frame is not None:
        await response.write(frame)
        await response.write_eof()
        return
    # A plain body cannot carry an error once started: drop the connection so the client sees a
    # truncated response instead of a short one that looks complete.
    if request.transport is not None:
        request.transport.close()
