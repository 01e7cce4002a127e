"""The admin-key interceptor: every admin RPC passes `gateway.adminauth.check_admin` first.

Same rule as the HTTP admin API: with an admin key, `authorization: Bearer <key>` metadata is
required (UNAUTHENTICATED otherwise); without one, only loopback peers are served
(PERMISSION_DENIED otherwise). The peer is only known inside the call, so the interceptor wraps
each method handler rather than deciding from the call details alone. Health checking and
reflection stay open: probes carry no key, and the schema is public in proto/.

It also makes a request that does not decode (e.g. a string field holding bytes that are not
UTF-8) INVALID_ARGUMENT after the key check, where grpc would answer INTERNAL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from gateway.admin_grpc.status import abort_for, invalid
from gateway.adminauth import check_admin
from gateway.errors import GatewayError

OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


def peer_host(peer: str) -> str | None:
    """`ipv4:127.0.0.1:5000` → `127.0.0.1`; `ipv6:[::1]:5000` → `::1`; other transports → None."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        host = rest.rsplit(":", 1)[0]
        return host[1:-1] if host.startswith("[") else host
    return None


class _Undecodable:
    """Stands in for a request message whose bytes did not decode."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # protobuf's DecodeError and friends: the caller's bad input
            return _Undecodable(str(exc))

    return decode


def _authorization(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


class AdminAuthInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, admin_key: str | Callable[[], str | None] | None) -> None:
        # A callable is asked per call, like the HTTP side, so a rotated key file (a remounted
        # Kubernetes Secret) applies to gRPC without a restart too.
        self._key = admin_key if callable(admin_key) else (lambda: admin_key)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(OPEN_SERVICES):
            return handler
        authorization = _authorization(handler_call_details.invocation_metadata)

        async def check(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
            try:
                # Inside the try: a configured key that cannot be read is UNAVAILABLE (fail closed).
                check_admin(authorization, peer_host(context.peer()), self._key())
            except GatewayError as exc:
                await abort_for(context, exc)
            if isinstance(request, _Undecodable):
                await invalid(context, f"request message does not decode: {request.reason}")

        if handler.unary_unary is not None:
            inner_unary = handler.unary_unary

            async def unary(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
                await check(request, context)
                return await inner_unary(request, context)

            return grpc.unary_unary_rpc_method_handler(
                unary, _tolerant(handler.request_deserializer), handler.response_serializer
            )
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            async def stream(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                await check(request, context)
                async for item in inner_stream(request, context):
                    yield item

            return grpc.unary_stream_rpc_method_handler(
                stream, _tolerant(handler.request_deserializer), handler.response_serializer
            )
        return handler  # the admin API has no client-streaming methods
