"""The error middleware: every failure leaves as JSON in the route's own dialect, never a traceback.

`GatewayError` is rendered with `anthropic_body()`, `openai_body()` or `bedrock_body()` by the path's
family; aiohttp's own HTTP errors (404, 405, 413) get the same treatment; anything unexpected is
logged (without request bodies or headers) and answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from gateway.errors import GatewayError
from gateway.http.families import Family, family_of

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
}


def error_response(request: web.Request, error: GatewayError) -> web.Response:
    family = family_of(request.path)
    if family is Family.BEDROCK:
        return web.json_response(error.bedrock_body(), status=error.status, headers=error.bedrock_headers())
    body = error.openai_body() if family is Family.OPENAI else error.anthropic_body()
    return web.json_response(body, status=error.status, headers=error.headers)


def from_http_exception(exc: web.HTTPException) -> GatewayError:
    messages = {404: "Not found", 405: "Method not allowed", 413: "Request body too large"}
    message = messages.get(exc.status, exc.reason)
    return GatewayError(exc.status, HTTP_ERROR_TYPES.get(exc.status, "api_error"), message)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as exc:
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(request, from_http_exception(exc))
    except (HttpProcessingError, RequestPayloadError):  # e.g. a corrupt gzip body
        message = "request body could not be read (malformed or wrongly encoded: check content-encoding)"
        response = error_response(request, GatewayError(400, "invalid_request_error", message))
        # The rest of the body cannot be decoded either: end it here (aiohttp would try to drain it
        # after the response and log the same error as unhandled) and close the connection.
        request.content.feed_eof()
        response.force_close()
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, GatewayError(500, "api_error", "Internal server error"))
