"""`UPSTREAM_PROVIDER=gonka`: the OpenAI routes' door to a Gonka node, every call signed.

Thin I/O around `signing` and `endpoints`. For each call the surface (`OpenAIForward`) builds the
body bytes once; the route here picks the node and signs those bytes for the chosen participant's
transfer address; the exchange's raw backend POSTs them once to `{node}/v1/chat/completions` or
`/v1/responses`, relays the answer and settles its usage like every route's.
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
from gateway.context import GATEWAY, HTTP_SESSION
from gateway.credentials.secrets import resolve_secret
from gateway.errors import bad_gateway
from gateway.exchange.interface import RawTarget
from gateway.gonka import endpoints as ep
from gateway.gonka.signing import GonkaSigner, signer_from_hex
from gateway.gonka.surface import OpenAIForward
from gateway.openai.models import provider_models_list
from gateway.openai.routes import OPENAI

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
LABEL = "Gonka upstream"


def add_gonka_door(app: web.Application) -> None:
    """With `UPSTREAM_PROVIDER=gonka`, the OpenAI routes' door to Gonka (after `add_openai_routes`)."""
    ctx = app[GATEWAY]
    doors = app.get(OPENAI)
    if ctx.config.upstream.provider is not UpstreamProvider.GONKA or doors is None:
        return
    gonka = app[GONKA] = gonka_upstream(ctx.config, ctx.environ)

    async def route(path: str, body: bytes) -> tuple[RawTarget, list[tuple[str, str]]]:
        try:
            endpoint = await gonka.endpoint(app[HTTP_SESSION])
        except (ep.EndpointError, aiohttp.ClientError, TimeoutError) as exc:
            raise bad_gateway(f"Gonka endpoint discovery failed: {_reason(exc)}") from None
        signed = gonka.signer.headers(body, gonka.clock_ns(), endpoint.transfer_address)
        target = RawTarget(endpoint.url + path.removeprefix("/v1"), "gonka", LABEL)
        return target, list(signed.items())

    async def listing(created: int) -> dict[str, Any]:
        return provider_models_list("gonka", (), gonka.model, created)

    doors.doors[UpstreamProvider.GONKA] = lambda api: OpenAIForward(api, gonka.model, route)
    doors.listings[UpstreamProvider.GONKA] = listing


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
