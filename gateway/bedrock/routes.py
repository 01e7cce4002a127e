"""Routes of the Bedrock surface: thin handlers over the exchange pipeline.

Each handler refuses cloud credentials with a 401 that says how to configure the client (before
the key check, whose generic answer would not), then runs the request through the exchange with
its surface (`cloud_door`, which the Vertex routes use too). The catalogue routes answer what the
AWS SDK asks before invoking. Routes exist only when the Anthropic API is enabled and
`UPSTREAM_API_FORMAT` allows the surface; anything else falls through to the catch-all, which
answers 404.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from dsl.model import ApiFormat
from gateway.bedrock.models import foundation_models, inference_profiles
from gateway.bedrock.surface import BedrockSurface
from gateway.context import GATEWAY
from gateway.exchange.interface import Surface
from gateway.exchange.pipeline import run
from gateway.http.cloud_auth import cloud_credential_error
from gateway.openai.models import ANTHROPIC_MODELS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def cloud_door(surface: Surface) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        refused = cloud_credential_error(request.headers)
        if refused is not None:
            raise refused
        return await run(request, surface)

    return handler


async def list_foundation_models(request: web.Request) -> web.Response:
    return web.json_response(foundation_models(ANTHROPIC_MODELS))


async def list_inference_profiles(request: web.Request) -> web.Response:
    # Every profile here is system-defined: a filter for application profiles finds none.
    wanted = request.query.get("type", request.query.get("typeEquals", "SYSTEM_DEFINED"))
    models = ANTHROPIC_MODELS if wanted.upper() == "SYSTEM_DEFINED" else ()
    created = datetime(2025, 1, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    return web.json_response(inference_profiles(models, created))


def add_bedrock_routes(app: web.Application, clock: Callable[[], float] = time.monotonic) -> None:
    config = app[GATEWAY].config
    if config.features.anthropic_api and config.upstream.api_format in (None, ApiFormat.BEDROCK):
        invoke, stream = cloud_door(BedrockSurface(False, clock)), cloud_door(BedrockSurface(True, clock))
        app.router.add_post("/model/{model}/invoke", invoke)
        app.router.add_post("/model/{model}/invoke-with-response-stream", stream)
        for prefix in ("", "/api/services/bedrock"):  # the seed's bare paths, model in the body
            app.router.add_post(f"{prefix}/invoke", invoke)
            app.router.add_post(f"{prefix}/invoke-with-response-stream", stream)
        app.router.add_get("/foundation-models", list_foundation_models)
        app.router.add_get("/inference-profiles", list_inference_profiles)
