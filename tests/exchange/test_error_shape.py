"""A surface with an error body of its own: `run(..., error_shape=...)` renders the errors raised
before the first byte (refused key, rejected body) in that shape, from a real server and client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from dsl.model import RouterConfig
from gateway.accounts.pool import AccountPool
from gateway.errors import GatewayError, bad_request
from gateway.exchange.direct import DirectBackend
from gateway.exchange.inflight import InFlight
from gateway.exchange.interface import Incoming, Translator
from gateway.exchange.pipeline import EXCHANGE, Exchange, ExchangeSlot, run
from gateway.exchange.raw import RawBackend
from gateway.tokens.records import TokenRecord
from gateway.tokens.service import TokenService
from gateway.tokens.state import MemoryTokenStore
from tests.support.gateway import TEST_SECRET
from tests.support.ports import serving


class PickySurface:
    """Refuses every body: the error must come out in this surface's shape."""

    async def translator(self, incoming: Incoming, record: TokenRecord) -> Translator:
        raise bad_request(f"cannot use a {len(incoming.body)}-byte body")


def own_shape(error: GatewayError) -> web.Response:
    return web.json_response({"Message": error.message, "Code": error.status}, status=error.status)


@dataclass
class Served:
    url: str
    tokens: TokenService


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    config = RouterConfig()
    tokens = TokenService(MemoryTokenStore(), TEST_SECRET)
    app = web.Application()

    async def picky(request: web.Request) -> web.StreamResponse:
        return await run(request, PickySurface(), error_shape=own_shape)

    async def exchange(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[EXCHANGE] = ExchangeSlot(
                Exchange(
                    tokens=tokens,
                    accounts=DirectBackend(config, AccountPool([], []), lambda: session),
                    raw=RawBackend(lambda: session, config.upstream.timeouts),
                    inflight=InFlight(),
                    idle_timeout=5.0,
                )
            )
            yield

    app.cleanup_ctx.append(exchange)
    app.router.add_post("/picky", picky)
    async with serving(app) as url:
        yield Served(url, tokens)


async def test_errors_before_the_first_byte_take_the_surfaces_own_shape(served: Served) -> None:
    key = (await served.tokens.issue(label="shape")).token
    async with aiohttp.ClientSession() as http:
        async with http.post(served.url + "/picky", data=b"{}") as refused:
            assert (refused.status, await refused.json()) == (
                401,
                {"Message": "Missing Authorization Bearer token or x-api-key", "Code": 401},
            )
        async with http.post(served.url + "/picky", data=b"abc", headers={"x-api-key": key}) as bad:
            expected = {"Message": "cannot use a 3-byte body", "Code": 400}
            assert (bad.status, await bad.json()) == (400, expected)
