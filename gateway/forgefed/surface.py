"""The public ActivityPub/ForgeFed routes: WebFinger, actor, inbox, outbox, followers.

No la_sk_ key: these are for other servers. Every route is rate-limited per client address and
answers `application/activity+json` (or JSON-LD when that is what the client asks for; 406 for a
client that takes neither). The routes exist at the seed's paths and under its later
`/api/services/activitypub` prefix; `--disable-activitypub` removes them (they then answer 404,
never the proxy). Handlers are thin: the rules live in `federation`, the documents in `documents`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from dsl.model import RouterConfig, UpstreamProvider
from gateway.context import GATEWAY, GatewayContext
from gateway.forgefed import documents
from gateway.forgefed.federation import Federation, InboxRefusal
from gateway.forgefed.followers import FollowerStore
from gateway.forgefed.keys import KeyRing
from gateway.forgefed.ratelimit import RateLimiter
from gateway.forgefed.remote import Remote

FEDERATION = web.AppKey("federation", Federation)
PREFIXES = ("", "/api/services/activitypub")
MAX_INBOX_BYTES = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def actor_base_url(config: RouterConfig) -> str:
    """`ACTIVITYPUB_ACTOR_BASE_URL`, else the seed's `http://<host>:<port>`, without a trailing `/`."""
    base = config.activitypub.actor_base_url or f"http://{config.server.host}:{config.server.port}"
    return base.rstrip("/")


def build_federation(ctx: GatewayContext) -> Federation:
    """Configured keys are checked here, while the app is built, so a bad key stops start-up clearly."""
    urls = documents.ActorUrls(actor_base_url(ctx.config))
    keyring = KeyRing(ctx.config.activitypub, ctx.environ, ctx.data_dir)
    return Federation(
        urls=urls,
        keyring=keyring,
        remote=Remote(keyring, urls.key_id),
        followers=FollowerStore(ctx.data_dir),
        limiter=RateLimiter(ctx.config.activitypub.rate_limit_per_minute),
    )


async def federation_ctx(app: web.Application) -> AsyncIterator[None]:
    """The outbound session for the app's lifetime; background deliveries end with it."""
    federation = app[FEDERATION]
    federation.remote.session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)
    )
    try:
        yield
    finally:
        await federation.close()
        await federation.remote.session.close()
        federation.remote.session = None


def refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """The seed's ActivityPub error shape: `{"error": code, "message": text}`."""
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


def limited(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        federation = request.app[FEDERATION]
        wait = federation.limiter.admit(request.remote or "unknown", federation.clock.monotonic())
        if wait is not None:
            retry = {"retry-after": str(max(1, int(wait + 0.999)))}
            return refusal(429, "rate_limited", "too many requests to the ActivityPub routes", retry)
        return await handler(request)

    return guarded


def answer(request: web.Request, body: dict[str, Any], status: int = 200) -> web.Response:
    media = documents.negotiate(request.headers.get("Accept", ""))
    if media is None:
        return refusal(406, "not_acceptable", f"this resource is {documents.ACTIVITY_JSON}")
    text = json.dumps(body)
    return web.Response(body=text.encode(), status=status, headers={"content-type": media})


async def actor(request: web.Request) -> web.StreamResponse:
    federation = request.app[FEDERATION]
    return answer(request, documents.actor_document(federation.urls, federation.keys.public_key_pem))


async def outbox(request: web.Request) -> web.StreamResponse:
    # We publish nothing publicly: Crater offers carry users' prompts and go only to their tracker.
    return answer(request, documents.ordered_collection(request.app[FEDERATION].urls.outbox, []))


async def followers(request: web.Request) -> web.StreamResponse:
    federation = request.app[FEDERATION]
    items = federation.followers.actors()
    return answer(request, documents.ordered_collection(federation.urls.followers, items))


async def follow(request: web.Request) -> web.StreamResponse:
    return answer(request, documents.follow_activity(request.app[FEDERATION].urls))


async def webfinger(request: web.Request) -> web.StreamResponse:
    resource = request.query.get("resource", "")
    if not resource:
        return refusal(400, "invalid_request", "the resource query parameter is required")
    found = documents.webfinger(request.app[FEDERATION].urls, resource)
    if found is None:
        return refusal(404, "not_found", "unknown resource")
    return web.Response(body=json.dumps(found).encode(), headers={"content-type": documents.JRD_JSON})


async def inbox(request: web.Request) -> web.StreamResponse:
    federation = request.app[FEDERATION]
    if (request.content_length or 0) > MAX_INBOX_BYTES:
        return refusal(413, "too_large", "the activity is too large")
    body = await request.content.read(MAX_INBOX_BYTES + 1)
    if len(body) > MAX_INBOX_BYTES:
        return refusal(413, "too_large", "the activity is too large")
    if "Signature" not in request.headers and not request.headers.get("Authorization", "").startswith(
        "Signature "
    ):
        return refusal(401, "signature_required", "the request has no HTTP Signature")
    try:
        activity = json.loads(body)
    except (ValueError, RecursionError):
        return refusal(400, "invalid_json", "the request body is not valid JSON")
    problem = documents.activity_problem(activity)
    if problem is not None:
        return refusal(400, "invalid_activity", problem)
    target = request.raw_path
    try:
        await federation.verify(request.method, target, request.headers, body, documents.actor_of(activity))
    except InboxRefusal as exc:
        return refusal(exc.status, exc.code, exc.message)
    federation.take(activity)
    reply = {"@context": documents.CONTEXT, "type": "Accept", "object": activity}
    return web.Response(
        body=json.dumps(reply).encode(), status=202, headers={"content-type": documents.ACTIVITY_JSON}
    )


def add_activitypub_routes(app: web.Application) -> None:
    """Build the actor when the surface is on or Crater needs it; mount the routes when it is on."""
    ctx = app[GATEWAY]
    config = ctx.config
    if not config.features.activitypub and config.upstream.provider is not UpstreamProvider.CRATER:
        return
    app[FEDERATION] = build_federation(ctx)
    app.cleanup_ctx.append(federation_ctx)
    if not config.features.activitypub:
        return
    name = documents.USERNAME
    app.router.add_get("/.well-known/webfinger", limited(webfinger))
    for prefix in PREFIXES:
        app.router.add_get(f"{prefix}/actor/{name}", limited(actor))
        app.router.add_post(f"{prefix}/inbox/{name}", limited(inbox))
        app.router.add_get(f"{prefix}/outbox/{name}", limited(outbox))
        app.router.add_get(f"{prefix}/actors/{name}/followers", limited(followers))
        app.router.add_get(f"{prefix}/activities/{documents.FOLLOW_ACTIVITY_ID}", limited(follow))
