"""Forward an OpenAI-format request to the active OpenAI-compatible provider (LiteLLM, vLLM, ...).

`ProviderSurface` is a pass-through translator for the exchange: only the credential changes (the
client's la_sk_ key is replaced by the provider's key, or no Authorization at all when it has none;
no client header is forwarded) and a missing `model` gets the provider's default. The answer (JSON
or SSE) is relayed chunk by chunk, unchanged, its usage read on the way; error answers that are not
OpenAI-shaped JSON are wrapped so OpenAI clients can read them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gateway.errors import GatewayError
from gateway.exchange.headers import client_response_headers, is_event_stream
from gateway.exchange.interface import Incoming, RawTarget, Relay, Reply, UpstreamRequest, Whole
from gateway.exchange.passthrough import PassThroughCodec
from gateway.providers.active import ActiveProvider, provider_url
from gateway.providers.usage import OpenAIUsageSniffer
from gateway.tokens.records import TokenRecord

MAX_ERROR_BODY = 1024 * 1024
LABEL = "OpenAI-compatible upstream"

BodyParser = Callable[[Incoming], dict[str, Any]]
ProviderLookup = Callable[[], Awaitable[ActiveProvider]]


def with_default_model(body: dict[str, Any], provider: ActiveProvider) -> dict[str, Any]:
    if (not isinstance(body.get("model"), str) or not body.get("model")) and provider.default_model:
        return {**body, "model": provider.default_model}
    return body


def redact(text: str, secret: str | None) -> str:
    """Some upstreams quote the credential they rejected; it must not reach our client."""
    return text.replace(secret, "<redacted>") if secret and len(secret) >= 4 else text


def error_from_body(status: int, text: str) -> GatewayError:
    """An upstream error answer as ours: its OpenAI-shaped message and type when it has them."""
    kind = "api_error" if status >= 500 else "invalid_request_error"
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError, RecursionError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = str(error.get("type") or kind)
        return GatewayError(status, kind, error["message"][:2000])
    return GatewayError(status, kind, text[:500] or f"OpenAI-compatible upstream answered {status}")


def provider_failure(
    status: int, headers: Mapping[str, str], raw: bytes | None, provider: ActiveProvider
) -> GatewayError:
    text = redact((raw or b"").decode("utf-8", "replace").strip(), provider.api_key)
    error = error_from_body(status, text)
    retry_after = headers.get("retry-after")
    if retry_after:
        error.headers["retry-after"] = retry_after
    return error


class ProviderSurface:
    """One OpenAI path (`/v1/chat/completions`, `/v1/responses`) forwarded to the active provider."""

    def __init__(self, path: str, parse: BodyParser, lookup: ProviderLookup) -> None:
        self.path = path
        self._parse = parse
        self._lookup = lookup

    async def translator(self, incoming: Incoming, record: TokenRecord) -> ProviderTranslator:
        body = self._parse(incoming)
        provider = await self._lookup()
        payload = with_default_model(body, provider)
        headers = [("content-type", "application/json")]
        if payload.get("stream") is True:
            headers.append(("accept", "text/event-stream"))
        if provider.api_key:
            headers.append(("authorization", f"Bearer {provider.api_key}"))
        model = payload.get("model")
        call = UpstreamRequest(
            method="POST",
            path=self.path,
            query="",
            headers=tuple(headers),
            body=json.dumps(payload).encode(),
            model=model if isinstance(model, str) else None,
            target=RawTarget(provider_url(provider.base_url, self.path), provider.name, LABEL),
        )
        return ProviderTranslator(call, provider)


class ProviderTranslator:
    def __init__(self, call: UpstreamRequest, provider: ActiveProvider) -> None:
        self.call = call
        self._provider = provider

    def answer(self, status: int, reason: str | None, headers: Mapping[str, str]) -> Relay | Whole:
        if status >= 400:
            provider = self._provider
            return Whole(lambda raw: _raise(provider_failure(status, headers, raw, provider)), MAX_ERROR_BODY)
        sniffer = OpenAIUsageSniffer() if status < 300 else None
        codec = PassThroughCodec(sniffer, is_event_stream(headers))
        return Relay(codec, status, client_response_headers(headers.items()), reason)


def _raise(error: GatewayError) -> Reply:
    raise error
