"""Gateway errors → gRPC status codes, in one place (the gRPC twin of gateway/errors.py rendering)."""

from __future__ import annotations

import re
from typing import Any, NoReturn

import grpc
from grpc import aio

from gateway.errors import GatewayError

_PLAIN_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,64}$")
_CODES: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ALREADY_EXISTS,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def code_for(status: int) -> grpc.StatusCode:
    return _CODES.get(status, grpc.StatusCode.INTERNAL)


async def abort_for(context: aio.ServicerContext[Any, Any], error: GatewayError) -> NoReturn:
    await context.abort(code_for(error.status), error.message)
    raise AssertionError("unreachable: context.abort raises")


def shown(name: str) -> str:
    """`name` for an error message when it is a short plain id; never echo a pasted key or text."""
    return name if _PLAIN_ID.match(name) and not name.startswith(("la_sk_", "sk-")) else "(not shown)"


async def not_found(context: aio.ServicerContext[Any, Any], what: str, name: str) -> NoReturn:
    await context.abort(grpc.StatusCode.NOT_FOUND, f"{what} not found: {shown(name)}")
    raise AssertionError("unreachable: context.abort raises")


async def invalid(context: aio.ServicerContext[Any, Any], message: str) -> NoReturn:
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
    raise AssertionError("unreachable: context.abort raises")


async def unavailable(context: aio.ServicerContext[Any, Any], message: str) -> NoReturn:
    await context.abort(grpc.StatusCode.UNAVAILABLE, message)
    raise AssertionError("unreachable: context.abort raises")
