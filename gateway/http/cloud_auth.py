"""Cloud credentials sent to the gateway instead of its key: a clear 401 that says what to send. Pure.

A client left on its cloud defaults signs Bedrock requests with AWS SigV4
(`Authorization: AWS4-HMAC-SHA256 …`) or sends a Google OAuth access token (`ya29.…`) to Vertex.
Neither carries an `la_sk_` key, and the generic "invalid key" answer would not tell the user why.
The messages name the Claude Code settings that make it send the gateway key; they never echo the
credential.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import GatewayError, unauthorized

SIGV4_PREFIX = "AWS4-HMAC-SHA256"
GOOGLE_TOKEN_PREFIX = "ya29."

BEDROCK_HINT = (
    "This gateway does not accept AWS SigV4 signatures: send your gateway key (la_sk_...) as a Bedrock "
    "API key (Authorization: Bearer). For Claude Code set CLAUDE_CODE_USE_BEDROCK=1, "
    "ANTHROPIC_BEDROCK_BASE_URL=<gateway URL>, CLAUDE_CODE_SKIP_BEDROCK_AUTH=1 and "
    "AWS_BEARER_TOKEN_BEDROCK=<gateway key>; AWS SDKs read AWS_BEARER_TOKEN_BEDROCK too."
)
VERTEX_HINT = (
    "This gateway does not accept Google Cloud access tokens: send your gateway key (la_sk_...) instead. "
    "For Claude Code set CLAUDE_CODE_USE_VERTEX=1, ANTHROPIC_VERTEX_BASE_URL=<gateway URL>/v1, "
    "CLAUDE_CODE_SKIP_VERTEX_AUTH=1 and ANTHROPIC_CUSTOM_HEADERS='x-api-key: <gateway key>'; "
    "the Anthropic SDK's AnthropicVertex takes the key as access_token."
)


def cloud_credential_error(headers: Mapping[str, str]) -> GatewayError | None:
    """A 401 for a request authenticated for AWS or Google rather than for the gateway, else None."""
    authorization = (headers.get("authorization") or headers.get("Authorization") or "").strip()
    if authorization.startswith(SIGV4_PREFIX):
        return unauthorized(BEDROCK_HINT)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip().startswith(GOOGLE_TOKEN_PREFIX):
        return unauthorized(VERTEX_HINT)
    return None
