"""The OpenAI-compatible HTTP surface: `/v1/chat/completions`, `/v1/responses`, `/v1/models`.

Each handler is the MPP admission step (`gateway.mpp.gate`, with MPP on: the key checked, then 402
until paid) and one call to the exchange pipeline with the surface for the configured upstream:
with `UPSTREAM_PROVIDER=anthropic`, the Chat/Responses translators (`bridge`); for any other
provider, the surface its module registered in `OpenAIDoors.doors` while the app was built (the
OpenAI-compatible pass-through is registered by the wiring function; Gonka or Crater add theirs
the same way: `app[OPENAI].doors[UpstreamProvider.X] = lambda api: XSurface(api, ...)`). Errors
are raised as `GatewayError` and rendered in OpenAI's shape by the error middleware.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from dsl.model import UpstreamProvider
from gateway.context import GATEWAY
from gateway.errors import GatewayError
from gateway.exchange.interface import Backend, Incoming, Surface, Translator
from gateway.exchange.pipeline import run
from gateway.mpp import gate as mpp
from gateway.openai import models
from gateway.openai.bridge import OpenAIApi, OpenAISurface
from gateway.tokens.records import TokenRecord

Door = Callable[[OpenAIApi], Surface]
"""A provider's OpenAI surface for one API (chat or responses)."""

ProviderModels = Callable[[int], Awaitable[dict[str, Any]]]
"""The `/v1/models` listing of a provider, given the `created` time."""


class Unavailable:
    """A provider this build has no surface for: authorized and read like any request, then a 501."""

    def __init__(self, provider: UpstreamProvider) -> None:
        self.provider = provider

    async def translator(self, incoming: Incoming, record: TokenRecord) -> Translator:
        message = f"UPSTREAM_PROVIDER={self.provider.value} is not available on the OpenAI routes"
        raise GatewayError(501, "api_error", message + " of this build")


@dataclass
class OpenAIDoors:
    """Per-app settings of the surface: the provider in use, the model aliases, and the doors of
    providers other than `anthropic` (with their model listings)."""

    provider: UpstreamProvider
    aliases: models.AliasTable
    doors: dict[UpstreamProvider, Door] = field(default_factory=dict)
    listings: dict[UpstreamProvider, ProviderModels] = field(default_factory=dict)
    backends: dict[UpstreamProvider, Backend] = field(default_factory=dict)
    """A provider whose upstream is not one HTTP call (Crater's task flow) brings its own backend."""

    def __post_init__(self) -> None:
        self._translated = {api: OpenAISurface(api, self.aliases) for api in OpenAIApi}

    def surface(self, api: OpenAIApi) -> Surface:
        if self.provider is UpstreamProvider.ANTHROPIC:
            return self._translated[api]
        door = self.doors.get(self.provider)
        return Unavailable(self.provider) if door is None else door(api)

    def backend(self) -> Backend | None:
        return self.backends.get(self.provider)


OPENAI = web.AppKey("openai_surface", OpenAIDoors)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _serve(request, OpenAIApi.CHAT)


async def responses(request: web.Request) -> web.StreamResponse:
    return await _serve(request, OpenAIApi.RESPONSES)


async def _serve(request: web.Request, api: OpenAIApi) -> web.StreamResponse:
    refusal = await mpp.admit(request)  # MPP_ENABLE: the key checked, then 402 until paid
    if refusal is not None:
        return refusal
    doors = request.app[OPENAI]
    return await run(request, doors.surface(api), doors.backend())


async def model_listing(request: web.Request) -> dict[str, Any]:
    doors = request.app[OPENAI]
    created = int(time.time())
    listing = doors.listings.get(doors.provider)
    if listing is not None:
        return await listing(created)
    return models.anthropic_models_list(doors.aliases, created)


async def list_models(request: web.Request) -> web.Response:
    return web.json_response(await model_listing(request))


async def get_model(request: web.Request) -> web.Response:
    wanted = request.match_info["model"]
    entry = next((m for m in (await model_listing(request))["data"] if m["id"] == wanted), None)
    if entry is None:
        raise GatewayError(404, "not_found_error", f"The model '{wanted}' does not exist")
    return web.json_response(entry)


def add_openai_routes(app: web.Application) -> None:
    config = app[GATEWAY].config
    if not config.features.openai_api:
        return
    app[OPENAI] = OpenAIDoors(config.upstream.provider, models.build_alias_table(config.model_aliases))
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/responses", responses)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model:.+}", get_model)  # provider ids may hold a `/`
