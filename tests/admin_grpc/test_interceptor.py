"""The admin interceptor's decision for peers the loopback-only test servers cannot produce.

grpc.aio gives a real handler and the call's peer; here the peer is a remote address, so the
context is a minimal stand-in for grpc's (only `peer()` and `abort()`), not for our code.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import grpc
import pytest

from gateway.admin_grpc.auth import AdminAuthInterceptor

Details = namedtuple("Details", ["method", "invocation_metadata"])


class Aborted(Exception):
    pass


class RemoteContext:
    def __init__(self, peer: str) -> None:
        self._peer = peer
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    def peer(self) -> str:
        return self._peer

    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: object = ()) -> None:
        self.aborted = (code, details)
        raise Aborted


async def call(
    key: str | None, peer: str, metadata: tuple[tuple[str, str], ...] = ()
) -> tuple[Any, RemoteContext]:
    served: list[str] = []

    async def behaviour(request: str, context: Any) -> str:
        served.append(request)
        return "ok"

    async def continuation(_details: Any) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(behaviour)

    details = Details("/linkassistant.router.admin.v1.TokenService/ListTokens", metadata)
    handler = await AdminAuthInterceptor(key).intercept_service(continuation, details)
    context = RemoteContext(peer)
    try:
        answer = await handler.unary_unary("request", context)
    except Aborted:
        answer = None
    assert (answer == "ok") == bool(served)
    return answer, context


async def test_remote_peer_without_admin_key_is_permission_denied() -> None:
    answer, context = await call(None, "ipv4:10.1.2.3:5555")
    assert answer is None and context.aborted is not None
    assert context.aborted[0] == grpc.StatusCode.PERMISSION_DENIED
    assert "loopback" in context.aborted[1]


@pytest.mark.parametrize("peer", ["ipv4:127.0.0.1:5555", "ipv6:[::1]:5555"])
async def test_loopback_peer_without_admin_key_is_served(peer: str) -> None:
    answer, _ = await call(None, peer)
    assert answer == "ok"


async def test_remote_peer_with_the_right_key_is_served_and_wrong_key_is_not() -> None:
    answer, _ = await call("k" * 20, "ipv4:10.1.2.3:5555", (("authorization", "Bearer " + "k" * 20),))
    assert answer == "ok"
    answer, context = await call("k" * 20, "ipv4:10.1.2.3:5555", (("authorization", "Bearer nope"),))
    assert answer is None and context.aborted is not None
    assert context.aborted[0] == grpc.StatusCode.UNAUTHENTICATED
