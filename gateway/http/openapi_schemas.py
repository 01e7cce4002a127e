"""The JSON Schemas the OpenAPI document (`gateway.http.openapi`) is built from. Pure data."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

ANTHROPIC_ERROR: Schema = {
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
OPENAI_ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
SSE_EVENT: Schema = {
    "type": "object",
    "description": "one server-sent event; `data` holds the event's JSON (or `[DONE]` on the OpenAI routes)",
    "required": ["data"],
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
}
NULLABLE_INT: Schema = {"type": ["integer", "null"]}
NULLABLE_STR: Schema = {"type": ["string", "null"]}
TOKEN_RECORD: Schema = {
    "type": "object",
    "required": ["id", "label", "issued_at", "expires_at", "revoked", "used_requests"],
    "properties": {
        "id": {"type": "string"},
        "label": {"type": "string"},
        "issued_at": {"type": "integer"},
        "expires_at": {"type": "integer"},
        "revoked": {"type": "boolean"},
        "account": NULLABLE_STR,
        "max_requests": NULLABLE_INT,
        "used_requests": {"type": "integer"},
        "max_tokens": NULLABLE_INT,
        "used_input_tokens": {"type": "integer"},
        "used_output_tokens": {"type": "integer"},
        "rate_limit_per_minute": NULLABLE_INT,
    },
}
PROVIDER: Schema = {
    "type": "object",
    "required": ["name", "kind", "base_url", "models", "has_encrypted_api_key", "enabled"],
    "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "base_url": {"type": "string"},
        "default_model": {"type": "string"},
        "models": {"type": "array", "items": {"type": "string"}},
        "api_key_env": {"type": "string"},
        "has_encrypted_api_key": {"type": "boolean"},
        "enabled": {"type": "boolean"},
    },
}
MODEL: Schema = {
    "type": "object",
    "required": ["id", "object"],
    "properties": {"id": {"type": "string"}, "object": {"const": "model"}, "owned_by": {"type": "string"}},
}
MESSAGES_REQUEST: Schema = {
    "type": "object",
    "required": ["model", "max_tokens", "messages"],
    "properties": {
        "model": {"type": "string"},
        "max_tokens": {"type": "integer", "minimum": 1},
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {"role": {"enum": ["user", "assistant"]}, "content": {"type": "string"}},
            },
        },
        "stream": {"type": "boolean"},
    },
}
CHAT_REQUEST: Schema = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string"},
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {
                    "role": {"enum": ["system", "user", "assistant"]},
                    "content": {"type": "string"},
                },
            },
        },
        "max_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
    },
}
RESPONSES_REQUEST: Schema = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"type": "string"},
        "max_output_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
    },
}
ISSUE_REQUEST: Schema = {
    "type": "object",
    "properties": {
        "ttl_hours": {"type": "integer", "minimum": 0, "maximum": 24 * 365 * 100},
        "label": {"type": "string", "maxLength": 1024},
        "account": {"type": ["string", "null"], "minLength": 1},
        "max_requests": {"type": "integer", "minimum": 0},
        "max_tokens": {"type": "integer", "minimum": 0},
        "rate_limit_per_minute": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    },
}
ID_REQUEST: Schema = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string", "minLength": 1}},
}
