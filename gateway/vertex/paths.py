"""Vertex AI publisher-model paths and bodies → Messages API requests. Pure; never mutates input.

`…/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:rawPredict`
(`:streamRawPredict` streams; the model `count-tokens` counts tokens). The path may start with
`/v1` (Vertex's own, and Claude Code's `ANTHROPIC_VERTEX_BASE_URL=<router>/v1`), `/v1beta1`, or the
seed's `/api/services/vertex/v1`, or with `/projects` directly (an SDK whose base URL is the bare
router). The body is the Messages body without `model`, with `anthropic_version`
(`vertex-2023-10-16`); the answer is the Messages API's own JSON or SSE, so only the request
needs translating.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.bedrock.models import anthropic_model_id
from gateway.errors import bad_request
from gateway.http.families import VERTEX_PATH

COUNT_TOKENS_MODEL = "count-tokens"


class Action(StrEnum):
    PREDICT = "rawPredict"
    STREAM = "streamRawPredict"
    COUNT_TOKENS = "count-tokens"


@dataclass(frozen=True)
class VertexCall:
    project: str
    location: str
    model: str
    """The path's model segment as written (`claude-sonnet-4-5@20250929`, or `count-tokens`)."""
    action: Action


def parse_path(path: str) -> VertexCall | None:
    """The call a request path names, or None when it is not a Vertex publisher-model path."""
    match = VERTEX_PATH.match(path)
    if match is None:
        return None
    model = match["model"]
    if model == COUNT_TOKENS_MODEL:
        if match["action"] != Action.PREDICT:
            return None
        action = Action.COUNT_TOKENS
    else:
        action = Action(match["action"])
    return VertexCall(match["project"], match["location"], model, action)


def messages_request(call: VertexCall, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The upstream path and Messages body for a Vertex call."""
    out = {k: v for k, v in body.items() if k not in ("anthropic_version", "model")}
    if call.action is Action.COUNT_TOKENS:
        # count-tokens keeps the model in the body: the path names no model.
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise bad_request("count-tokens:rawPredict needs the model in the body")
        out.pop("stream", None)
        return "/v1/messages/count_tokens", {"model": anthropic_model_id(model), **out}
    out = {"model": anthropic_model_id(call.model), **out}
    if call.action is Action.STREAM:
        out["stream"] = True
    return "/v1/messages", out
