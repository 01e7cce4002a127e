"""Which API family a path belongs to, and whether the config hides it.

Pure. The family decides the error dialect (Anthropic, OpenAI or Bedrock shape) and which feature
toggle hides the route, including on the catch-all, so a disabled surface is really gone. The API
format (`UPSTREAM_API_FORMAT`) narrows the Anthropic-model surfaces to one of Messages, Bedrock or
Vertex; the others answer 404.
"""

from __future__ import annotations

import re
from enum import StrEnum

from dsl.model import ApiFormat, FeaturesConfig


class Family(StrEnum):
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    METRICS = "metrics"
    ADMIN = "admin"
    ACTIVITYPUB = "activitypub"
    BEDROCK = "bedrock"


OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/responses", "/v1/models"})
METRICS_PATHS = frozenset({"/metrics", "/v1/usage", "/v1/accounts"})
# The public ActivityPub/ForgeFed surface (the seed's paths, its later `/api/services/activitypub`
# prefix, and WebFinger): never forwarded upstream, so never behind an la_sk_ key.
ACTIVITYPUB_PREFIXES = (
    "/actor/",
    "/inbox/",
    "/outbox/",
    "/actors/",
    "/activities/",
    "/api/services/activitypub/",
    "/.well-known/webfinger",
)


BEDROCK_PATHS = frozenset(
    {
        "/invoke",
        "/invoke-with-response-stream",
        "/api/services/bedrock/invoke",
        "/api/services/bedrock/invoke-with-response-stream",
        "/foundation-models",
        "/inference-profiles",
    }
)
_BEDROCK_MODEL = re.compile(r"^/model/[^/]+/(invoke|invoke-with-response-stream)$")
VERTEX_PATH = re.compile(
    r"^(?:/api/services/vertex)?(?:/v1|/v1beta1)?"
    r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/anthropic/models/(?P<model>[^/:]+):(?P<action>rawPredict|streamRawPredict)$"
)
"""A Vertex publisher-model call (`gateway.vertex.paths` reads its parts)."""


def is_bedrock_path(path: str) -> bool:
    return path in BEDROCK_PATHS or _BEDROCK_MODEL.match(path) is not None


def family_of(path: str) -> Family:
    if path in OPENAI_PATHS or path.startswith("/v1/models/"):
        return Family.OPENAI
    if path in METRICS_PATHS:
        return Family.METRICS
    if path.startswith("/api/tokens") or path.startswith("/api/providers"):
        return Family.ADMIN
    if path.startswith(ACTIVITYPUB_PREFIXES):
        return Family.ACTIVITYPUB
    if is_bedrock_path(path):
        return Family.BEDROCK
    return Family.ANTHROPIC


def is_enabled(family: Family, features: FeaturesConfig) -> bool:
    if family is Family.OPENAI:
        return features.openai_api
    if family is Family.METRICS:
        return features.metrics
    if family in (Family.ANTHROPIC, Family.BEDROCK):
        return features.anthropic_api
    if family is Family.ACTIVITYPUB:
        return features.activitypub
    return True


def api_format_of(path: str) -> ApiFormat:
    """Which Anthropic-model surface a path belongs to (everything not Bedrock or Vertex is Messages,
    including the catch-all pass-through)."""
    if is_bedrock_path(path):
        return ApiFormat.BEDROCK
    if VERTEX_PATH.match(path) is not None:
        return ApiFormat.VERTEX
    return ApiFormat.ANTHROPIC


def format_allowed(path: str, api_format: ApiFormat | None) -> bool:
    """False when `UPSTREAM_API_FORMAT` restricts the gateway to another surface than the path's."""
    return api_format is None or api_format_of(path) is api_format
