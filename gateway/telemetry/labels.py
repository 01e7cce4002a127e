"""Bounded metric labels: turn a request's path, status and model into a small, fixed label set.

Pure: no aiohttp, no OpenTelemetry. Label values must never carry token ids, keys or user text,
and their number must stay bounded whatever clients send, so every function here maps open input
onto a closed set (unknown paths become "other", odd or excess model names become "other").
"""

from __future__ import annotations

import re
from enum import StrEnum


class Surface(StrEnum):
    """The seed's request surfaces: which per-API counter a request increments."""

    ANTHROPIC = "anthropic"
    OPENAI_CHAT = "openai_chat"
    OPENAI_RESPONSES = "openai_responses"


OTHER = "other"

# Exact API paths we label as themselves; everything else is classified by pattern below.
_EXACT_ROUTES: dict[str, tuple[str, Surface | None]] = {
    "/v1/messages": ("/v1/messages", Surface.ANTHROPIC),
    "/v1/messages/count_tokens": ("/v1/messages/count_tokens", Surface.ANTHROPIC),
    "/invoke": ("/invoke", Surface.ANTHROPIC),
    "/invoke-with-response-stream": ("/invoke-with-response-stream", Surface.ANTHROPIC),
    "/api/services/bedrock/invoke": ("/invoke", Surface.ANTHROPIC),
    "/api/services/bedrock/invoke-with-response-stream": ("/invoke-with-response-stream", Surface.ANTHROPIC),
    "/foundation-models": ("/foundation-models", None),
    "/inference-profiles": ("/inference-profiles", None),
    "/v1/chat/completions": ("/v1/chat/completions", Surface.OPENAI_CHAT),
    "/v1/responses": ("/v1/responses", Surface.OPENAI_RESPONSES),
    "/v1/models": ("/v1/models", None),
    "/health": ("/health", None),
    "/metrics": ("/metrics", None),
    "/v1/usage": ("/v1/usage", None),
    "/v1/accounts": ("/v1/accounts", None),
    "/api/tokens": ("/api/tokens", None),
    "/api/tokens/list": ("/api/tokens/list", None),
    "/api/tokens/revoke": ("/api/tokens/revoke", None),
    "/api/tokens/expire": ("/api/tokens/expire", None),
    "/api/tokens/self": ("/api/tokens/self", None),
    "/api/providers": ("/api/providers", None),
    "/": ("/", None),
}
# Served by the gateway itself, never forwarded: (path prefix, label).
_LOCAL_PREFIXES = (
    ("/api/providers/", "/api/providers/{name}"),
    ("/api/tokens/", OTHER),
    ("/v1/models/", "/v1/models/{model}"),
    ("/actor", "activitypub"),
    ("/inbox", "activitypub"),
    ("/outbox", "activitypub"),
    ("/activities/", "activitypub"),
    ("/.well-known/", "activitypub"),
    ("/api/services/activitypub/", "activitypub"),
)
_BEDROCK_MODEL = re.compile(r"^/model/[^/]+/(invoke|invoke-with-response-stream)$")
_VERTEX = re.compile(r":(rawPredict|streamRawPredict)$")
_ANTHROPIC_PREFIX = "/api/latest/anthropic"
_SAFE_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,79}$")
# Key-shaped names (a client that put its key where the model goes) never become labels.
_KEY_LIKE = re.compile(r"la_sk_|^sk-|^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)


def classify_path(path: str) -> tuple[str, Surface | None]:
    """The route label and seed surface of a request path (the surface is None for routes the
    gateway answers itself). Any other path goes to the catch-all Anthropic pass-through, as in the
    seed, so it counts on the Anthropic surface under the label "other"."""
    if path.startswith(_ANTHROPIC_PREFIX):
        label, _ = classify_path(path[len(_ANTHROPIC_PREFIX) :] or "/")
        return (
            f"{_ANTHROPIC_PREFIX}{label}" if label.startswith("/v1/messages") else OTHER
        ), Surface.ANTHROPIC
    found = _EXACT_ROUTES.get(path)
    if found is not None:
        return found
    for prefix, label in _LOCAL_PREFIXES:
        if path.startswith(prefix):
            return label, None
    bedrock = _BEDROCK_MODEL.match(path)
    if bedrock:
        return f"/model/{{id}}/{bedrock.group(1)}", Surface.ANTHROPIC
    vertex = _VERTEX.search(path)
    if vertex:
        kind = "count-tokens:rawPredict" if "count-tokens" in path else vertex.group(1)
        return f"vertex:{kind}", Surface.ANTHROPIC
    return OTHER, Surface.ANTHROPIC


def status_class(status: int) -> str:
    """`200` → "2xx"; anything outside 100..599 → "other"."""
    return f"{status // 100}xx" if 100 <= status <= 599 else OTHER


class ModelLabels:
    """Admits at most `limit` distinct well-formed model names as label values; the rest are "other".

    Clients choose model names, so without a cap one client could create unbounded series.
    The first names seen win; configured models can be admitted up front with `preload`.
    """

    def __init__(self, limit: int = 64, preload: tuple[str, ...] = ()) -> None:
        self._limit = limit
        self._admitted: set[str] = set()
        for name in preload:
            self.label(name)

    def label(self, model: str | None) -> str:
        if not model:
            return ""
        if model in self._admitted:
            return model
        if len(self._admitted) >= self._limit or not _SAFE_MODEL.match(model) or _KEY_LIKE.search(model):
            return OTHER
        self._admitted.add(model)
        return model
