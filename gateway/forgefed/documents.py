"""The ActivityPub documents the router serves and sends: actor, WebFinger, collections, Accept.

Pure: URLs and keys in, JSON-ready dicts out; no aiohttp. The paths are the seed's (`/actor/code`,
`/inbox/code`, `/outbox/code`, `/actors/code/followers`) under `ACTIVITYPUB_ACTOR_BASE_URL`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

AS2 = "https://www.w3.org/ns/activitystreams"
FORGEFED = "https://forgefed.org/ns"
CONTEXT: list[Any] = [AS2, FORGEFED]
ACTOR_CONTEXT: list[Any] = [AS2, FORGEFED, {"fep": "https://w3id.org/fep/ef61#", "aliases": "fep:aliases"}]
ACTIVITY_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON = "application/jrd+json"
ACCEPT_ACTIVITY = f"{ACTIVITY_JSON}, {LD_JSON}"
USERNAME = "code"
FOLLOW_TARGET = "https://problemsets.lefine.pro/actor/code"
FOLLOW_ACTIVITY_ID = "follow-problemsets-code-001"


@dataclass(frozen=True)
class ActorUrls:
    """Where the router's one actor lives, from the public base URL."""

    base: str

    @property
    def actor(self) -> str:
        return f"{self.base}/actor/{USERNAME}"

    @property
    def key_id(self) -> str:
        return f"{self.actor}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.base}/inbox/{USERNAME}"

    @property
    def outbox(self) -> str:
        return f"{self.base}/outbox/{USERNAME}"

    @property
    def followers(self) -> str:
        return f"{self.base}/actors/{USERNAME}/followers"

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def activity(self, name: str) -> str:
        return f"{self.base}/activities/{name}"


def actor_document(urls: ActorUrls, public_key_pem: str) -> dict[str, Any]:
    return {
        "@context": ACTOR_CONTEXT,
        "id": urls.actor,
        "type": "Service",
        "preferredUsername": USERNAME,
        "name": "Link Assistant Code Router",
        "summary": "An LLM API router that takes work as ForgeFed tickets.",
        "inbox": urls.inbox,
        "outbox": urls.outbox,
        "followers": urls.followers,
        "aliases": ["urn:link-assistant:router:code", urls.actor],
        "publicKey": {"id": urls.key_id, "owner": urls.actor, "publicKeyPem": public_key_pem},
    }


def webfinger(urls: ActorUrls, resource: str) -> dict[str, Any] | None:
    """The JRD for `acct:code@<host>` or the actor URL itself; None for any other resource."""
    known = {f"acct:{USERNAME}@{urls.host}", urls.actor, f"acct:{USERNAME}@{urls.host.split(':')[0]}"}
    if resource not in known:
        return None
    return {
        "subject": f"acct:{USERNAME}@{urls.host}",
        "aliases": [urls.actor],
        "links": [{"rel": "self", "type": ACTIVITY_JSON, "href": urls.actor}],
    }


def ordered_collection(collection_id: str, items: Sequence[Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": list(items),
    }


def follow_activity(urls: ActorUrls) -> dict[str, Any]:
    """The seed's canned Follow of the problem-set source."""
    return {
        "@context": CONTEXT,
        "id": urls.activity(FOLLOW_ACTIVITY_ID),
        "type": "Follow",
        "actor": urls.actor,
        "object": FOLLOW_TARGET,
        "to": [FOLLOW_TARGET],
    }


def accept(urls: ActorUrls, activity: dict[str, Any], to: str | None = None) -> dict[str, Any]:
    """Our Accept of `activity` (a Follow, usually), addressed to its actor."""
    body: dict[str, Any] = {
        "@context": CONTEXT,
        "id": urls.activity(f"accept-{uuid.uuid4()}"),
        "type": "Accept",
        "actor": urls.actor,
        "object": activity,
    }
    if to:
        body["to"] = [to]
    return body


def activity_problem(activity: Any) -> str | None:
    """Why an inbox POST is not an activity we can take (the seed's messages), or None."""
    if not isinstance(activity, dict):
        return "activity must be a JSON object"
    if not isinstance(activity.get("id"), str) or not activity["id"].strip():
        return "activity id is required"
    if not isinstance(activity.get("type"), str) or not activity["type"].strip():
        return "activity type is required"
    if not isinstance(activity.get("actor"), str) and not isinstance(activity.get("attributedTo"), str):
        return "activity must include actor or attributedTo"
    return None


def actor_of(activity: dict[str, Any]) -> str:
    actor = activity.get("actor")
    return actor if isinstance(actor, str) else str(activity.get("attributedTo"))


def object_id(value: Any) -> str | None:
    """An activity's `object` as an id: the string itself or the embedded object's `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def negotiate(accept_header: str) -> str | None:
    """The media type to answer with for this `Accept`, or None when the client takes neither JSON-LD
    nor ActivityPub JSON (a browser asking for HTML only): that is a 406."""
    ranges = [part.split(";")[0].strip().lower() for part in accept_header.split(",") if part.strip()]
    if not ranges or ACTIVITY_JSON in ranges or "*/*" in ranges or "application/*" in ranges:
        return ACTIVITY_JSON
    if "application/ld+json" in ranges:
        return LD_JSON
    if "application/json" in ranges:
        return ACTIVITY_JSON
    return None


def public_key_of(actor: Any, key_id: str) -> tuple[str, str] | None:
    """(owner, PEM) of `key_id` from a fetched actor document (its `publicKey`, one or a list)."""
    if not isinstance(actor, dict):
        return None
    keys = actor.get("publicKey")
    for key in keys if isinstance(keys, list) else [keys]:
        if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str):
            kid, owner = key.get("id"), key.get("owner") or actor.get("id")
            if (kid == key_id or kid is None) and isinstance(owner, str):
                return owner, str(key["publicKeyPem"])
    return None
