"""Routes of the Vertex surface: every `…:rawPredict` / `…:streamRawPredict` path, one thin handler.

The route matches any path ending in a Vertex action; the surface answers 404 for paths that are
not Anthropic publisher models. Present only when the Anthropic API is enabled and
`UPSTREAM_API_FORMAT` allows Vertex.
"""

from __future__ import annotations

from aiohttp import web

from dsl.model import ApiFormat
from gateway.bedrock.routes import cloud_door
from gateway.context import GATEWAY
from gateway.vertex.surface import VertexSurface

VERTEX_ROUTE = r"/{vertex_path:.+:(rawPredict|streamRawPredict)}"


def add_vertex_routes(app: web.Application) -> None:
    config = app[GATEWAY].config
    if config.features.anthropic_api and config.upstream.api_format in (None, ApiFormat.VERTEX):
        app.router.add_post(VERTEX_ROUTE, cloud_door(VertexSurface()))
