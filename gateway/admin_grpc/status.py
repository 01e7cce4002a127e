"""Gateway errors → gRPC status codes with `google.rpc` details, in one place (the gRPC twin of
gateway/errors.py rendering).

Every admin error carries a `google.rpc.Status` in the `grpc-status-details-bin` trailer: an
`ErrorInfo` with a machine-readable reason (domain `linkassistant.router`) and, for bad input, a
`BadRequest` whose field violations name the request field. Clients decode it with
`link_assistant_router_admin.errors`; plain clients still get the code and message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio

from gateway.admin_grpc.listing import ListingError, Page, paginate, parse_filter
from gateway.errors import GatewayError

DOMAIN = "linkassistant.router"
DETAILS_KEY = "grpc-status-details-bin"
_PLAIN_ID = re.compile(r"^[A-Za-z0-9._:@/-]{1,80}$")
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
T = TypeVar("T")
Violation = tuple[str, str]
"""(request field, what is wrong with it)."""


def code_for(status: int) -> grpc.StatusCode:
    return _CODES.get(status, grpc.StatusCode.INTERNAL)


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def status_details(
    code: grpc.StatusCode,
    message: str,
    reason: str,
    violations: Iterable[Violation] = (),
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """The serialized `google.rpc.Status` for the details trailer. Pure."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=dict(metadata or {}))
    details = [_packed(info)]
    found = [error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations]
    if found:
        details.append(_packed(error_details_pb2.BadRequest(field_violations=found)))
    number = code.value[0] if code.value[0] in code_pb2.Code.values() else code_pb2.UNKNOWN
    return bytes(status_pb2.Status(code=number, message=message, details=details).SerializeToString())


async def abort(
    context: aio.ServicerContext[Any, Any],
    code: grpc.StatusCode,
    message: str,
    reason: str,
    violations: Iterable[Violation] = (),
    metadata: Mapping[str, str] | None = None,
) -> NoReturn:
    details = status_details(code, message, reason, violations, metadata)
    await context.abort(code, message, trailing_metadata=((DETAILS_KEY, details),))
    raise AssertionError("unreachable: context.abort raises")


async def abort_for(
    context: aio.ServicerContext[Any, Any], error: GatewayError, field: str | None = None
) -> NoReturn:
    """A `GatewayError` as its status; bad input names `field` in a BadRequest when it is known."""
    violations = [(field, error.message)] if field and error.status == 400 else []
    await abort(context, code_for(error.status), error.message, error.error_type.upper(), violations)


def shown(name: str) -> str:
    """`name` for an error message when it is a short plain id; never echo a pasted key or text."""
    return name if _PLAIN_ID.match(name) and not name.startswith(("la_sk_", "sk-")) else "(not shown)"


async def not_found(context: aio.ServicerContext[Any, Any], what: str, name: str) -> NoReturn:
    await abort(
        context,
        grpc.StatusCode.NOT_FOUND,
        f"{what} not found: {shown(name)}",
        f"{what.upper()}_NOT_FOUND",
        metadata={"resource": shown(name)},
    )


async def invalid(
    context: aio.ServicerContext[Any, Any], message: str, field: str = "", reason: str = "INVALID_ARGUMENT"
) -> NoReturn:
    violations = [(field, message)] if field else []
    await abort(context, grpc.StatusCode.INVALID_ARGUMENT, message, reason, violations)


async def unavailable(context: aio.ServicerContext[Any, Any], message: str) -> NoReturn:
    await abort(context, grpc.StatusCode.UNAVAILABLE, message, "UNAVAILABLE")


async def bad_listing(context: aio.ServicerContext[Any, Any], error: ListingError) -> NoReturn:
    """A bad resource name, filter, page size or page token, blamed on its request field."""
    await invalid(context, error.message, error.field, error.reason)


async def filter_of(
    context: aio.ServicerContext[Any, Any], text: str, fields: Mapping[str, Callable[[str], object]]
) -> dict[str, object]:
    """A List request's parsed `filter`, or INVALID_ARGUMENT naming the field `filter`."""
    try:
        return parse_filter(text, fields)
    except ListingError as exc:
        await bad_listing(context, exc)


async def page_of(
    context: aio.ServicerContext[Any, Any], items: Sequence[T], key: Callable[[T], str], request: Any
) -> Page[T]:
    """The page a List request asks for, or INVALID_ARGUMENT for a bad page size or token."""
    try:
        return paginate(items, key, request.page_size, request.page_token, request.filter)
    except ListingError as exc:
        await bad_listing(context, exc)
