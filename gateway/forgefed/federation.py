"""The router's one ActivityPub actor at run time: its keys, followers, pending offers and inbox rules.

`Federation` is made once per app (in `surface.federation_ctx`) and shared by the ActivityPub
routes and the Crater upstream. Inbox rules: the request must carry an HTTP Signature made by the
key of the activity's actor (fetched from the actor's document); a `Follow` of us adds a follower
and is answered with a signed `Accept` delivered to the follower's inbox in the background; an
`Undo` of that Follow removes it; an `Accept`/`Reject` of an Offer we sent wakes the Crater request
waiting for it (a tracker may answer the Offer later, by delivery, instead of in the POST reply).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.forgefed import documents, httpsig
from gateway.forgefed.followers import FollowerStore
from gateway.forgefed.keys import ActorKeys, KeyRing
from gateway.forgefed.ratelimit import RateLimiter
from gateway.forgefed.remote import Clock, Remote, RemoteError

log = logging.getLogger(__name__)
DELIVERY_ATTEMPTS = 3
DELIVERY_BACKOFF = 2.0


class InboxRefusal(Exception):
    """The inbox does not take this request: HTTP status, seed error code and a safe message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Federation:
    urls: documents.ActorUrls
    keyring: KeyRing
    remote: Remote
    followers: FollowerStore
    limiter: RateLimiter
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def keys(self) -> ActorKeys:
        return self.keyring.get()

    @property
    def clock(self) -> Clock:
        return self.remote.clock

    async def verify(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes, actor: str
    ) -> None:
        """Raise InboxRefusal(401) unless `actor` signed this request."""
        header = headers.get("Signature") or headers.get("Authorization", "")
        if not header or (not headers.get("Signature") and not header.lower().startswith("signature ")):
            raise InboxRefusal(401, "signature_required", "the request has no HTTP Signature")
        try:
            params = httpsig.parse_signature(header)
            owner, key = await self.remote.sender_key(params.key_id)
            try:
                httpsig.verify_request(params, key, method, target, headers, body, self.clock.wall())
            except httpsig.SignatureError as first:
                if "does not verify" not in str(first):
                    raise
                owner, key = await self.remote.sender_key(params.key_id, fresh=True)
                httpsig.verify_request(params, key, method, target, headers, body, self.clock.wall())
        except httpsig.SignatureError as exc:
            raise InboxRefusal(401, "invalid_signature", str(exc)) from None
        except RemoteError as exc:
            # Details stay in the log: echoing what a URL of the sender's choosing answered would
            # make the inbox a probe of hosts only the router can reach.
            log.info("inbox: signing key not fetched: %s", exc)
            raise InboxRefusal(401, "invalid_signature", "the signing key could not be fetched") from None
        if owner != actor:
            message = "the signing key does not belong to the activity's actor"
            raise InboxRefusal(401, "invalid_signature", message)

    def take(self, activity: dict[str, Any]) -> None:
        """Act on a verified activity."""
        kind, actor = activity.get("type"), documents.actor_of(activity)
        target = documents.object_id(activity.get("object"))
        if kind == "Follow" and target == self.urls.actor:
            self.followers.add(actor)
            self.spawn(self.deliver_accept(activity, actor))
        elif kind == "Undo" and isinstance(activity.get("object"), dict):
            inner = activity["object"]
            if inner.get("type") == "Follow" and documents.object_id(inner.get("object")) == self.urls.actor:
                self.followers.remove(actor)
        elif kind in ("Accept", "Reject") and target in self.pending:
            waiter = self.pending[target]
            if not waiter.done():
                waiter.set_result(activity)

    def expect_reply(self, offer_id: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the Accept/Reject of an Offer we are about to send; `forget` it afterwards."""
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[offer_id] = waiter
        return waiter

    def forget(self, offer_id: str) -> None:
        waiter = self.pending.pop(offer_id, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()

    def spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver_accept(self, follow: dict[str, Any], follower: str) -> None:
        accept = documents.accept(self.urls, follow, to=follower)
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            try:
                inbox = await self.remote.inbox_of(follower)
                answer = await self.remote.post(inbox, accept)
                if answer.status < 300:
                    return
                problem = f"HTTP {answer.status}"
            except RemoteError as exc:
                problem = str(exc)
            log.warning("Accept of a Follow not delivered (attempt %d): %s", attempt, problem)
            if attempt < DELIVERY_ATTEMPTS:
                await self.clock.sleep(DELIVERY_BACKOFF**attempt)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for offer_id in list(self.pending):
            self.forget(offer_id)
