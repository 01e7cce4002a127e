"""The telemetry middleware: request ids, metrics per request, and the JSON access log.

Installed outermost by `install_telemetry`, so it sees the final status of every request,
including errors rendered by inner middlewares. The response-prepare hook stamps the request id
header (the upstream's own id when it sent one) and marks streaming responses, which is the only
moment headers can still change for a stream. Access records go to the `link_assistant_router.access`
logger as structured fields; the process's JSON formatter (`gateway.logging`, set up by `serve`
with --json-logs) renders each as one JSON line through the secret-redacting handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.telemetry.access_log import access_record, incoming_request_id, upstream_request_id
from gateway.telemetry.labels import classify_path
from gateway.telemetry.metrics import GatewayMetrics
from gateway.telemetry.request_info import REQUEST_INFO, RequestInfo

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Sink = Callable[[dict[str, object]], None]
ACCESS_LOGGER = "link_assistant_router.access"
STREAM_TYPES = frozenset({"text/event-stream", "application/vnd.amazon.eventstream"})
_CLIENT_CLOSED = 499  # nginx's convention for "client went away before the answer"
_PREPARED: web.RequestKey[web.StreamResponse] = web.RequestKey("telemetry_prepared", web.StreamResponse)


class Meters:
    """Where the middleware finds the app's metrics: set by the metrics' own lifetime (`None`: off).
    Read per request as an attribute, not looked up on the app."""

    metrics: GatewayMetrics | None = None


def install_telemetry(app: web.Application, json_logs: bool, sink: Sink | None = None) -> Meters:
    """Add the outermost middleware and the prepare hook; the returned `Meters` takes the app's
    metrics once they exist. `sink` receives each access record (default: the access logger) when
    `json_logs` is on."""
    write: Sink | None = (sink or _log_record) if json_logs else None
    meters = Meters()

    @web.middleware
    async def telemetry(request: web.Request, handler: Handler) -> web.StreamResponse:
        route, surface = classify_path(request.path)
        info = RequestInfo(incoming_request_id(request.headers), route, surface)
        request[REQUEST_INFO] = info
        status = 500
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            # A stream the handler gave up on because the client left (body never ended): 499.
            status = _status_when_cancelled(response) if response.prepared else response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = _status_when_cancelled(request.get(_PREPARED))
            raise
        finally:
            _finish(request, info, response, status, meters.metrics, write)

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        info = request.get(REQUEST_INFO)
        if info is None:
            return
        request[_PREPARED] = response
        info.request_id = upstream_request_id(response.headers) or info.request_id
        response.headers["x-request-id"] = info.request_id
        response.headers.setdefault("request-id", info.request_id)
        info.headers_s = info.elapsed()
        if response.content_type in STREAM_TYPES and not info.streaming:
            info.streaming = True
            metrics = meters.metrics
            if metrics is not None:
                metrics.stream_started()

    app.middlewares.insert(0, telemetry)
    app.on_response_prepare.append(on_prepare)
    return meters


def _finish(
    request: web.Request,
    info: RequestInfo,
    response: web.StreamResponse | None,
    status: int,
    metrics: GatewayMetrics | None,
    write: Sink | None,
) -> None:
    if metrics is not None:
        if info.streaming:
            metrics.stream_finished()
        metrics.observe(info, status, request.content_length or 0, _bytes_out(response))
    if write is not None:
        write(access_record(info, request.method, status, info.elapsed()))


def _status_when_cancelled(prepared: web.StreamResponse | None) -> int:
    """499 only when the client left before the response ended. A streamed answer whose last byte
    was sent, and whose handler was cancelled afterwards (still recording usage when the client
    closed, as curl does at once), was answered in full: its own status stands. aiohttp exposes
    "end of body sent" only as `_eof_sent`; the 499 test pins that."""
    if prepared is not None and getattr(prepared, "_eof_sent", False):
        return prepared.status
    return _CLIENT_CLOSED


def _bytes_out(response: web.StreamResponse | None) -> int:
    if response is None:
        return 0
    if response.prepared:
        return response.body_length
    return response.content_length or 0


def _log_record(record: dict[str, object]) -> None:
    logging.getLogger(ACCESS_LOGGER).info("request", extra={"fields": record})
