"""Forward an OpenAI-format request to the active OpenAI-compatible provider (LiteLLM, vLLM, ...).

Only the credential changes: the client's la_sk_ key is replaced by the provider's key (or no
Authorization at all when it has none); no client header is forwarded. A missing `model` gets the
provider's default. The answer (JSON or SSE) is relayed chunk by chunk, unchanged; error answers
that are not OpenAI-shaped JSON are wrapped so OpenAI clients can read them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from gateway.context import GatewayContext
from gateway.errors import GatewayError, bad_gateway
from gateway.providers.active import ActiveProvider, active_provider, provider_url
from gateway.providers.store import ProviderStore
from gateway.providers.usage import OpenAIUsageSniffer
from gateway.proxy.stream import relay
from gateway.telemetry.request_info import RequestInfo

log = logging.getLogger(__name__)
MAX_ERROR_BODY = 1024 * 1024


def provider_store(ctx: GatewayContext) -> ProviderStore:
    """The data dir's provider store; created on first use and kept on the context."""
    if not isinstance(ctx.providers, ProviderStore):
        ctx.providers = ProviderStore(ctx.data_dir, ctx.token_secret)
    store: ProviderStore = ctx.providers
    return store


async def current_provider(ctx: GatewayContext) -> ActiveProvider:
    stored = await asyncio.to_thread(provider_store(ctx).records)
    return active_provider(ctx.config, ctx.environ, stored, ctx.token_secret)


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


async def provider_failure(upstream: aiohttp.ClientResponse, provider: ActiveProvider) -> GatewayError:
    try:
        raw = await upstream.content.read(MAX_ERROR_BODY)
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
        raw = b""
    finally:
        upstream.release()
    error = error_from_body(upstream.status, redact(raw.decode("utf-8", "replace").strip(), provider.api_key))
    retry_after = upstream.headers.get("retry-after")
    if retry_after:
        error.headers["retry-after"] = retry_after
    return error


async def forward_to_provider(
    request: web.Request, ctx: GatewayContext, path: str, body: dict[str, Any], info: RequestInfo, record: Any
) -> web.StreamResponse:
    """`record` is the caller's token record: its token budget is charged with the usage seen."""
    provider = await current_provider(ctx)
    payload = with_default_model(body, provider)
    headers = {"content-type": "application/json"}
    if payload.get("stream") is True:
        headers["accept"] = "text/event-stream"
    if provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    info.account = provider.name
    info.model = payload.get("model") if isinstance(payload.get("model"), str) else None
    info.streaming = payload.get("stream") is True
    timeouts = ctx.config.upstream.timeouts
    try:
        async with asyncio.timeout(timeouts.first_byte):
            upstream = await ctx.session().post(
                provider_url(provider.base_url, path),
                data=json.dumps(payload).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect),
                allow_redirects=False,
            )
    except TimeoutError:
        info.note_upstream_error(provider.name, "timeout")
        raise GatewayError(504, "api_error", "OpenAI-compatible upstream did not answer in time") from None
    except aiohttp.ClientError as exc:
        info.note_upstream_error(provider.name, "connection")
        raise bad_gateway(f"OpenAI-compatible upstream request failed: {type(exc).__name__}") from exc
    if upstream.status >= 400:
        raise await provider_failure(upstream, provider)
    sniffer = OpenAIUsageSniffer()
    try:
        with ctx.inflight.track():  # shutdown lets the stream finish within its grace period
            return await relay(
                request, upstream, timeouts.idle, sniffer.feed if upstream.status < 300 else None
            )
    finally:
        # Also when the client left mid-stream: usage already seen still counts against its budget,
        # so the write is shielded from the handler's cancellation.
        info.note_usage({"input_tokens": sniffer.input_tokens, "output_tokens": sniffer.output_tokens})
        await asyncio.shield(_charge(ctx, getattr(record, "id", None), sniffer))


async def _charge(ctx: GatewayContext, token_id: str | None, sniffer: OpenAIUsageSniffer) -> None:
    if token_id and (sniffer.input_tokens or sniffer.output_tokens):
        await ctx.token_authority().record_usage(token_id, sniffer.input_tokens, sniffer.output_tokens)
