"""`UPSTREAM_PROVIDER=gonka`: the OpenAI routes' forwarder to a Gonka node, with real request signing.

Thin I/O around `signing` and `endpoints`: the body (with `GONKA_MODEL` when it names no model) is
serialised once, signed for the chosen participant's transfer address, and those exact bytes are
POSTed to `{node}/v1/chat/completions` or `/v1/responses`. The answer (JSON or SSE) is relayed
unchanged and its usage charged to the caller's token, as on the OpenAI-compatible path.
Discovered endpoints are kept for `DISCOVERY_TTL` seconds of the injected monotonic clock.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from dsl.model import RouterConfig, UpstreamProvider
from gateway.context import GATEWAY, GatewayContext
from gateway.credentials.secrets import resolve_secret
from gateway.errors import bad_gateway
from gateway.gonka import endpoints as ep
from gateway.gonka.signing import GonkaSigner, signer_from_hex
from gateway.openai.routes import OPENAI
from gateway.providers.forward import OpenAIUpstream, post_and_relay, provider_failure
from gateway.telemetry.request_info import RequestInfo

DISCOVERY_TTL = 60.0
MAX_DISCOVERY_BODY = 4 * 1024 * 1024


class GonkaSetupError(ValueError):
    """The Gonka settings cannot serve (safe to print: never holds the key)."""


@dataclass
class GonkaUpstream:
    """The process's Gonka requester: its signer, where requests go, and the discovery cache."""

    signer: GonkaSigner
    source_url: str
    model: str
    fixed: tuple[ep.Endpoint, ...] = ()
    clock_ns: Callable[[], int] = time.time_ns
    monotonic: Callable[[], float] = time.monotonic
    choose: Callable[[Sequence[Any]], Any] = random.choice
    _found: tuple[ep.Endpoint, ...] = field(default=(), repr=False)
    _found_at: float = field(default=float("-inf"), repr=False)

    async def endpoint(self, http: aiohttp.ClientSession) -> ep.Endpoint:
        """Where the next request goes: a listed endpoint, or a freshly (re)discovered participant."""
        if self.fixed:
            chosen: ep.Endpoint = self.choose(self.fixed)
            return chosen
        if not self._found or self.monotonic() - self._found_at > DISCOVERY_TTL:
            source = self.source_url.rstrip("/")
            found = ep.participants(await _get_json(http, source + ep.PARTICIPANTS_PATH))
            allowed = ep.allowed_addresses(await _get_json(http, source + ep.PARAMS_PATH))
            self._found, self._found_at = ep.usable(found, allowed), self.monotonic()
        picked: ep.Endpoint = self.choose(self._found)
        identity = await _get_json(http, picked.url + ep.IDENTITY_PATH.removeprefix("/v1"))
        return ep.delegate(identity, picked, self.choose)


def gonka_upstream(config: RouterConfig, environ: Mapping[str, str]) -> GonkaUpstream:
    """Build the requester from the settings; GonkaSetupError names what is wrong."""
    private_key = resolve_secret(config.gonka.private_key, environ) if config.gonka.private_key else None
    if not private_key:
        where = config.gonka.private_key.describe() if config.gonka.private_key else "GONKA_PRIVATE_KEY"
        raise GonkaSetupError(f"upstream provider gonka needs a private key ({where} is unset or empty)")
    try:
        signer = signer_from_hex(private_key)
        fixed = ep.parse_endpoints(config.gonka.endpoints) if config.gonka.endpoints else ()
    except ValueError as err:
        raise GonkaSetupError(str(err)) from None
    return GonkaUpstream(signer, config.gonka.source_url, config.gonka.model, fixed)


GONKA = web.AppKey("gonka_upstream", GonkaUpstream)


def add_gonka_upstream(app: web.Application) -> None:
    """With `UPSTREAM_PROVIDER=gonka`, serve the OpenAI routes from Gonka (after `add_openai_routes`)."""
    ctx = app[GATEWAY]
    if ctx.config.upstream.provider is not UpstreamProvider.GONKA:
        return
    app[GONKA] = gonka_upstream(ctx.config, ctx.environ)
    surface = app.get(OPENAI)
    if surface is not None:
        surface.forwarders[UpstreamProvider.GONKA] = forward_to_gonka


async def forward_to_gonka(
    request: web.Request, ctx: GatewayContext, path: str, body: dict[str, Any], info: RequestInfo, record: Any
) -> web.StreamResponse:
    """An OpenAI route (`path` is /v1/chat/completions or /v1/responses) served by a Gonka node."""
    gonka = request.app[GONKA]
    payload = body if isinstance(body.get("model"), str) and body["model"] else {**body, "model": gonka.model}
    try:
        endpoint = await gonka.endpoint(ctx.session())
    except (ep.EndpointError, aiohttp.ClientError, TimeoutError) as exc:
        info.note_upstream_error("gonka", "discovery")
        raise bad_gateway(f"Gonka endpoint discovery failed: {_reason(exc)}") from None
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    headers.update(gonka.signer.headers(data, gonka.clock_ns(), endpoint.transfer_address))
    if payload.get("stream") is True:
        headers["Accept"] = "text/event-stream"
    info.account = "gonka"
    info.model = str(payload["model"])
    info.streaming = payload.get("stream") is True
    target = OpenAIUpstream("Gonka upstream", "gonka", lambda r: provider_failure(r, None))
    url = endpoint.url + path.removeprefix("/v1")
    return await post_and_relay(request, ctx, target, url, data, headers, info, record)


async def _get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=10), allow_redirects=False) as answer:
        if answer.status != 200:
            raise ep.EndpointError(f"{url.split('://', 1)[-1].split('/', 1)[-1]} answered {answer.status}")
        raw = await answer.content.read(MAX_DISCOVERY_BODY)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ep.EndpointError("a discovery answer is not JSON") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ep.EndpointError):
        return str(exc)
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
