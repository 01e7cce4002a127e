"""The gateway's error type and the one place that renders it in a client's dialect.

Pure: no aiohttp here. Handlers raise `GatewayError`; the HTTP layer turns it into a response with
`anthropic_body`, `openai_body` or `bedrock_body` (+ `bedrock_headers`) depending on the route's API
family.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GatewayError(Exception):
    """An error the client should see: HTTP status, Anthropic error type and a safe message.

    The message must never contain a secret (keys, OAuth tokens, TOKEN_SECRET).
    """

    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.error_type}: {self.message}"

    def anthropic_body(self) -> dict[str, Any]:
        """`{"type":"error","error":{"type":…,"message":…}}`, as the seed and Anthropic send."""
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}

    def openai_body(self) -> dict[str, Any]:
        """`{"error":{"message","type","code"}}`, as OpenAI sends."""
        return {
            "error": {
                "message": self.message,
                "type": OPENAI_TYPES.get(self.error_type, self.error_type),
                "code": OPENAI_CODES.get(self.status),
            }
        }

    def bedrock_body(self) -> dict[str, Any]:
        """`{"message": …}` as Bedrock sends (the error's name travels in `x-amzn-ErrorType`), plus
        the Anthropic envelope: the seed answered its Bedrock paths in Anthropic's shape, and AWS
        SDKs ignore keys they do not know."""
        return {"message": self.message, **self.anthropic_body()}

    def bedrock_headers(self) -> dict[str, str]:
        return {**self.headers, "x-amzn-ErrorType": bedrock_error_type(self.status, self.error_type)}


def bedrock_error_type(status: int, error_type: str = "") -> str:
    """The AWS error name the SDKs raise for a status (`ThrottlingException` for 429, …)."""
    if error_type == "overloaded_error":
        return "ServiceUnavailableException"
    return BEDROCK_TYPES.get(status, "InternalServerException" if status >= 500 else "ValidationException")


# HTTP status → Bedrock runtime's error name (the service model's exceptions).
BEDROCK_TYPES: dict[int, str] = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    413: "ValidationException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    503: "ServiceUnavailableException",
    504: "ModelTimeoutException",
    529: "ServiceUnavailableException",
}


def sse_error_event(error_type: str, message: str) -> bytes:
    """`event: error` with Anthropic's error object, for a stream whose headers are already sent."""
    data = json.dumps({"type": "error", "error": {"type": error_type, "message": message}})
    return f"event: error\ndata: {data}\n\n".encode()


class BudgetExceeded(GatewayError):
    """A key's own budget refused the request (429); `reason` is a small fixed label for metrics."""

    def __init__(self, message: str, reason: str, retry_after: float | None = None) -> None:
        headers = {"retry-after": str(max(1, int(retry_after + 0.999)))} if retry_after is not None else {}
        super().__init__(429, "rate_limit_error", message, headers)
        self.reason = reason


# Anthropic error types → the nearest OpenAI `error.type`.
OPENAI_TYPES: dict[str, str] = {
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "invalid_request_error": "invalid_request_error",
    "not_found_error": "invalid_request_error",
    "rate_limit_error": "rate_limit_error",
    "api_error": "api_error",
    "overloaded_error": "api_error",
}

OPENAI_CODES: dict[int, str] = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "not_found",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def unauthorized(message: str) -> GatewayError:
    return GatewayError(401, "authentication_error", message)


def forbidden(message: str) -> GatewayError:
    return GatewayError(403, "permission_error", message)


def bad_request(message: str) -> GatewayError:
    return GatewayError(400, "invalid_request_error", message)


def not_found(message: str) -> GatewayError:
    return GatewayError(404, "not_found_error", message)


def rate_limited(message: str, retry_after: float | None = None) -> GatewayError:
    headers = {"retry-after": str(max(1, int(retry_after + 0.999)))} if retry_after is not None else {}
    return GatewayError(429, "rate_limit_error", message, headers)


def bad_gateway(message: str) -> GatewayError:
    return GatewayError(502, "api_error", message)
