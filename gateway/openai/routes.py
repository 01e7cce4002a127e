"""The OpenAI-compatible HTTP surface: `/v1/chat/completions`, `/v1/responses`, `/v1/models`.

Handlers are thin: authorize the la_sk_ key, read the JSON body, then either translate to the
Anthropic upstream (`bridge`) or, with `UPSTREAM_PROVIDER=openai-compatible`, forward unchanged to
the configured provider (`gateway.providers.forward`). Errors are raised as `GatewayError` and
rendered in OpenAI's shape by the error middleware (the path family is OPENAI).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from dsl.model import UpstreamProvider
from gateway.context import GATEWAY, GatewayContext
from gateway.errors import GatewayError, bad_request
from gateway.http.socket_identity import credential_headers
from gateway.openai import models, structured
from gateway.openai.bridge import Translation, answer_via_anthropic
from gateway.openai.chat_request import translate_chat_request
from gateway.openai.chat_response import translate_chat_response
from gateway.openai.chat_stream import ChatStreamTranslator
from gateway.openai.responses_request import translate_responses_request
from gateway.openai.responses_response import translate_responses_response
from gateway.openai.responses_stream import ResponsesStreamTranslator
from gateway.providers.forward import current_provider, forward_to_provider
from gateway.proxy.routes import read_body
from gateway.telemetry.request_info import RequestInfo, info_of

Forwarder = Callable[
    [web.Request, GatewayContext, str, dict[str, Any], RequestInfo, Any], Awaitable[web.StreamResponse]
]


@dataclass(frozen=True)
class OpenAISurface:
    """Per-app settings of the surface. `forwarders` maps an UPSTREAM_PROVIDER other than
    `anthropic` to the function that serves OpenAI requests for it; modules for further providers
    (Gonka, Crater) register theirs here while the app is built."""

    aliases: models.AliasTable
    forwarders: dict[UpstreamProvider, Forwarder] = field(default_factory=dict)


OPENAI = web.AppKey("openai_surface", OpenAISurface)


async def read_json(request: web.Request) -> Any:
    raw = await read_body(request)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise bad_request("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def chat_translation(aliases: models.AliasTable, body: dict[str, Any]) -> Translation:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    json_mode = structured.json_mode(body, responses=False)
    return Translation(
        to_anthropic=lambda b: translate_chat_request(b, aliases),
        to_openai=lambda message, created: translate_chat_response(message, created, json_mode),
        stream_translator=lambda created: ChatStreamTranslator(
            created, include_usage=include_usage, json_mode=json_mode
        ),
    )


def responses_translation(aliases: models.AliasTable, body: dict[str, Any]) -> Translation:
    return Translation(
        to_anthropic=lambda b: translate_responses_request(b, aliases),
        to_openai=lambda message, created: translate_responses_response(message, created, body),
        stream_translator=lambda created: ResponsesStreamTranslator(created, echo=body),
    )


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _handle(request, "/v1/chat/completions", chat_translation)


async def responses(request: web.Request) -> web.StreamResponse:
    return await _handle(request, "/v1/responses", responses_translation)


async def _handle(
    request: web.Request, path: str, make: Callable[[models.AliasTable, dict[str, Any]], Translation]
) -> web.StreamResponse:
    ctx = request.app[GATEWAY]
    info = info_of(request)
    record = await ctx.token_authority().authorize(credential_headers(request, ctx.socket_key))
    body = await read_json(request)
    if path == "/v1/chat/completions" and request.query.get("stream") in ("true", "1"):
        body = {**body, "stream": True}  # the seed's `?stream=true` on chat completions
    surface = request.app[OPENAI]
    provider = ctx.config.upstream.provider
    if provider is not UpstreamProvider.ANTHROPIC:
        forwarder = surface.forwarders.get(provider)
        if forwarder is None:
            message = (
                f"UPSTREAM_PROVIDER={provider.value} is not available on the OpenAI routes of this build"
            )
            raise GatewayError(501, "api_error", message)
        return await forwarder(request, ctx, path, body, info, record)
    translation = make(surface.aliases, body)
    stream = body.get("stream") is True
    return await answer_via_anthropic(request, ctx, record, body, stream, translation, info)


async def model_listing(request: web.Request) -> dict[str, Any]:
    ctx = request.app[GATEWAY]
    created = int(time.time())
    if ctx.config.upstream.provider is UpstreamProvider.OPENAI_COMPATIBLE:
        provider = await current_provider(ctx)
        return models.provider_models_list(provider.name, provider.models, provider.default_model, created)
    return models.anthropic_models_list(request.app[OPENAI].aliases, created)


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
    surface = OpenAISurface(models.build_alias_table(config.model_aliases))
    surface.forwarders[UpstreamProvider.OPENAI_COMPATIBLE] = forward_to_provider
    app[OPENAI] = surface
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/responses", responses)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model:.+}", get_model)  # provider ids may hold a `/`
