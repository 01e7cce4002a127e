"""The OpenAPI 3.1 document of the gateway's HTTP surface, and `GET /openapi.json` serving it.

`build_document()` is pure and is the source; `openapi.json` beside this module is its checked-in
rendering (`python -m gateway.http.openapi > gateway/http/openapi.json`; a test keeps them equal),
and the route serves that file's bytes, read once when the app is built. Bodies that pass through
from the upstream (Messages, Chat, Responses) are described by their required fields and keep the
rest open; errors are the route's own dialect (Anthropic or OpenAI shape).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.http.openapi_schemas import (
    ANTHROPIC_ERROR,
    CHAT_REQUEST,
    ID_REQUEST,
    ISSUE_REQUEST,
    MESSAGES_REQUEST,
    MODEL,
    NULLABLE_INT,
    NULLABLE_STR,
    OPENAI_ERROR,
    PROVIDER,
    RESPONSES_REQUEST,
    SSE_EVENT,
    TOKEN_RECORD,
    Schema,
)

DOCUMENT = Path(__file__).with_name("openapi.json")
JSON = "application/json"
SSE = "text/event-stream"


def _obj(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


def _json(schema: Schema, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _op(
    summary: str,
    ok: dict[str, Any],
    *,
    error: Schema = ANTHROPIC_ERROR,
    body: Schema | None = None,
    body_required: bool = True,
    keyed: bool = False,
    tag: str = "anthropic",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {"200": ok, "default": _json(error, "error, in the route's own dialect")},
    }
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {JSON: {"schema": body}}}
    if keyed:
        operation["security"] = [{"routerKey": []}, {"routerApiKey": []}]
    return operation


def _streaming(schema: Schema) -> dict[str, Any]:
    open_body = {"type": "object", "properties": {}, "additionalProperties": True}
    return {
        "description": "the answer, as JSON, or as server-sent events when the request asked to stream",
        "content": {JSON: {"schema": schema if schema else open_body}, SSE: {"schema": SSE_EVENT}},
    }


def build_document() -> dict[str, Any]:
    admin = (
        "Admin: callers on loopback, or any caller with `Authorization: Bearer <admin key>` when one is set."
    )
    message = _obj(["type", "role", "content"], type={"const": "message"}, role={"const": "assistant"})
    message["properties"]["content"] = {"type": "array"}
    chat = _obj(["object", "choices"], object={"const": "chat.completion"}, choices={"type": "array"})
    response = _obj(["object", "output"], object={"const": "response"}, output={"type": "array"})
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "liveness: `ok`",
                "tags": ["operations"],
                "responses": {
                    "200": {"description": "ok", "content": {"text/plain": {"schema": {"const": "ok"}}}}
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "this document",
                "tags": ["operations"],
                "responses": {"200": _json({"type": "object", "required": ["openapi", "paths"]})},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus text exposition",
                "tags": ["operations"],
                "responses": {
                    "200": {
                        "description": "metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "default": _json(ANTHROPIC_ERROR, "hidden by --disable-metrics"),
                },
            }
        },
        "/v1/usage": {"get": _op("request and token counters", _json({"type": "object"}), tag="operations")},
        "/v1/accounts": {
            "get": _op(
                "upstream accounts and their state (admin)",
                _json(_obj(["accounts"], accounts={"type": "array"}, note={"type": "string"})),
                tag="operations",
            )
        },
        "/v1/messages": {
            "post": _op("Anthropic Messages", _streaming(message), body=MESSAGES_REQUEST, keyed=True)
        },
        "/v1/messages/count_tokens": {
            "post": _op(
                "Anthropic token counting",
                _json(_obj(["input_tokens"], input_tokens={"type": "integer"})),
                body=MESSAGES_REQUEST,
                keyed=True,
            )
        },
        "/v1/chat/completions": {
            "post": _op(
                "OpenAI Chat Completions",
                _streaming(chat),
                error=OPENAI_ERROR,
                body=CHAT_REQUEST,
                keyed=True,
                tag="openai",
            )
        },
        "/v1/responses": {
            "post": _op(
                "OpenAI Responses",
                _streaming(response),
                error=OPENAI_ERROR,
                body=RESPONSES_REQUEST,
                keyed=True,
                tag="openai",
            )
        },
        "/v1/models": {
            "get": _op(
                "models (OpenAI list shape)",
                _json(
                    _obj(["object", "data"], object={"const": "list"}, data={"type": "array", "items": MODEL})
                ),
                error=OPENAI_ERROR,
                keyed=True,
                tag="openai",
            )
        },
        "/v1/models/{model}": {
            "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": _op("one model", _json(MODEL), error=OPENAI_ERROR, keyed=True, tag="openai"),
        },
        "/api/tokens": {
            "post": _op(
                f"issue a key. {admin}",
                _json(
                    _obj(
                        ["token", "id", "ttl_hours", "label", "expires_at"],
                        token={"type": "string", "pattern": "^la_sk_"},
                        id={"type": "string"},
                        ttl_hours={"type": "integer"},
                        label={"type": "string"},
                        account=NULLABLE_STR,
                        max_requests=NULLABLE_INT,
                        expires_at={"type": "integer"},
                        max_tokens=NULLABLE_INT,
                        rate_limit_per_minute=NULLABLE_INT,
                    )
                ),
                body=ISSUE_REQUEST,
                body_required=False,
                tag="admin",
            )
        },
        "/api/tokens/list": {
            "get": _op(
                f"every key's record. {admin}",
                _json(_obj(["data"], data={"type": "array", "items": TOKEN_RECORD})),
                tag="admin",
            )
        },
        "/api/tokens/revoke": {
            "post": _op(
                f"revoke a key by id. {admin}",
                _json(_obj(["revoked"], revoked={"type": "string"})),
                body=ID_REQUEST,
                tag="admin",
            )
        },
        "/api/tokens/expire": {
            "post": _op(
                f"expire a key now. {admin}",
                _json(
                    _obj(
                        ["expired", "expires_at"], expired={"type": "string"}, expires_at={"type": "integer"}
                    )
                ),
                body=ID_REQUEST,
                tag="admin",
            )
        },
        "/api/tokens/self": {
            "get": _op(
                "the calling key's own budgets and usage",
                _json({"type": "object", "required": ["id"]}),
                keyed=True,
                tag="admin",
            )
        },
        "/api/providers": {
            "get": _op(
                f"stored providers. {admin}",
                _json(_obj(["data"], data={"type": "array", "items": PROVIDER})),
                tag="admin",
            ),
            "post": _op(
                f"add or replace a provider. {admin}",
                _json(PROVIDER),
                body=_obj(
                    ["name", "base_url"],
                    name={"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
                    base_url={
                        "type": "string",
                        "format": "uri",
                        "pattern": "^https?://[a-z0-9.-]+(:[0-9]{1,5})?/?$",
                    },
                ),
                tag="admin",
            ),
        },
        "/api/providers/{name}": {
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": _op(f"one provider. {admin}", _json(PROVIDER), tag="admin"),
            "delete": _op(
                f"remove a provider. {admin}",
                _json(_obj(["deleted"], deleted={"type": "string"})),
                tag="admin",
            ),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Link.Assistant.Router",
            "version": "0.1.0",
            "description": (
                "An LLM API gateway: Anthropic Messages and OpenAI Chat/Responses surfaces in front of "
                "Claude accounts and OpenAI-compatible providers, with la_sk_ keys, budgets and admin APIs. "
                "Any other path passes through to the Anthropic upstream, like /api/latest/anthropic/<path>."
            ),
        },
        "components": {
            "securitySchemes": {
                "routerKey": {"type": "http", "scheme": "bearer", "description": "an la_sk_ key"},
                "routerApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            }
        },
        "paths": paths,
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def add_openapi_route(app: web.Application) -> None:
    body = DOCUMENT.read_bytes()

    async def document(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=JSON)

    app.router.add_get("/openapi.json", document)


if __name__ == "__main__":
    sys.stdout.write(render())
