"""Relay a translated stream: upstream Anthropic SSE bytes → state machine → client SSE frames.

The only I/O around the pure codec and translators: read a chunk (bounded by the idle timeout),
feed it, write what comes out, flush. A broken or stalled upstream ends the client stream with the
translator's in-band error frame (headers are already sent); a client that goes away closes the
upstream connection, which cancels the upstream request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

import aiohttp
from aiohttp import web

from gateway.errors import GatewayError
from gateway.exchange.interface import UpstreamResponse
from gateway.openai.sse import SseDecoder, SseEvent, encode_all
from gateway.telemetry.request_info import RequestInfo

log = logging.getLogger(__name__)
TIMED_OUT = (504, "api_error", "Upstream stream timed out")
INTERRUPTED = (502, "api_error", "Upstream stream interrupted")
SHUTTING_DOWN = (503, "api_error", "The gateway is shutting down")

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


class StreamTranslator(Protocol):
    usage: dict[str, object]
    finished: bool

    def feed(self, event: SseEvent) -> list[SseEvent]: ...

    def finish(self) -> list[SseEvent]: ...

    def fail(self, error: GatewayError) -> list[SseEvent]: ...


async def relay_translated(
    request: web.Request,
    upstream: UpstreamResponse,
    translator: StreamTranslator,
    idle_timeout: float,
    info: RequestInfo,
) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    decoder = SseDecoder()
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
                await _write(response, translator.fail(GatewayError(*TIMED_OUT)), info)
                break
            except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
                log.warning("upstream stream broke: %s", type(exc).__name__)
                await _write(response, translator.fail(GatewayError(*INTERRUPTED)), info)
                break
            if not chunk:
                for event in decoder.finish():
                    await _write(response, translator.feed(event), info)
                break
            frames: list[SseEvent] = []
            for event in decoder.feed(chunk):
                frames += translator.feed(event)
            await _write(response, frames, info)
            if translator.finished:
                break  # the client's stream is complete; do not wait for the upstream to hang up
        # After a clean end this only closes what is open; after a break it reports the cut.
        await _write(response, translator.finish(), info)
        await response.write_eof()
        completed = True
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        log.info("client went away; cancelling the upstream request")
    except asyncio.CancelledError:
        # A client that left closed its transport; one still connected is being cut by shutdown
        # after the grace period: end its stream with an error, so it is not mistaken for complete.
        transport = request.transport
        if response.prepared and transport is not None and not transport.is_closing():
            with contextlib.suppress(Exception):
                await response.write(encode_all(translator.fail(GatewayError(*SHUTTING_DOWN))))
                await response.write_eof()  # a well-ended body: clients read the error, not a cut
        raise
    finally:
        if completed:
            upstream.release()
        else:
            upstream.close()
    return response


async def respond_with_frames(
    request: web.Request, frames: list[SseEvent], info: RequestInfo
) -> web.StreamResponse:
    """A whole translated stream at once (the upstream answered a stream request with JSON)."""
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    await response.prepare(request)
    await _write(response, frames, info)
    await response.write_eof()
    return response


async def _write(response: web.StreamResponse, frames: list[SseEvent], info: RequestInfo) -> None:
    if frames:
        info.mark_first_token()
        await response.write(encode_all(frames))
