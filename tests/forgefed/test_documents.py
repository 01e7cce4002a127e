"""Pure parts of the ActivityPub surface: documents, negotiation, inbox validation, the rate limiter
and the followers file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.forgefed import documents
from gateway.forgefed.followers import FollowerStore
from gateway.forgefed.ratelimit import RateLimiter

URLS = documents.ActorUrls("https://router.example:8443")
ACTOR = "https://router.example:8443/actor/code"


@pytest.mark.parametrize(
    ("resource", "found"),
    [
        ("acct:code@router.example:8443", True),
        ("acct:code@router.example", True),
        (ACTOR, True),
        ("acct:other@router.example:8443", False),
        ("acct:code@elsewhere.example", False),
        ("", False),
    ],
)
def test_webfinger_knows_only_our_actor(resource: str, found: bool) -> None:
    jrd = documents.webfinger(URLS, resource)
    assert (jrd is not None) is found
    if jrd is not None:
        assert jrd["links"] == [{"rel": "self", "type": "application/activity+json", "href": ACTOR}]


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("", documents.ACTIVITY_JSON),
        ("*/*", documents.ACTIVITY_JSON),
        ("application/activity+json", documents.ACTIVITY_JSON),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', documents.LD_JSON),
        ("application/json", documents.ACTIVITY_JSON),
        ("text/html, application/xhtml+xml", None),
        ("text/html;q=0.9, application/activity+json", documents.ACTIVITY_JSON),
    ],
)
def test_content_negotiation(accept: str, media: str | None) -> None:
    assert documents.negotiate(accept) == media


@pytest.mark.parametrize(
    ("activity", "problem"),
    [
        ([], "activity must be a JSON object"),
        ({"type": "Follow", "actor": "a"}, "activity id is required"),
        ({"id": " ", "type": "Follow", "actor": "a"}, "activity id is required"),
        ({"id": "x", "actor": "a"}, "activity type is required"),
        ({"id": "x", "type": "Follow"}, "activity must include actor or attributedTo"),
        ({"id": "x", "type": "Note", "attributedTo": "a"}, None),
        ({"id": "x", "type": "Follow", "actor": "a"}, None),
    ],
)
def test_inbox_activities_need_id_type_and_actor(activity: Any, problem: str | None) -> None:
    assert documents.activity_problem(activity) == problem


def test_the_actor_document_carries_the_seed_fields() -> None:
    actor = documents.actor_document(URLS, "PEM")
    assert actor["type"] == "Service" and actor["preferredUsername"] == "code"
    assert actor["followers"] == "https://router.example:8443/actors/code/followers"
    assert actor["aliases"] == ["urn:link-assistant:router:code", ACTOR]
    assert actor["publicKey"] == {"id": f"{ACTOR}#main-key", "owner": ACTOR, "publicKeyPem": "PEM"}


@pytest.mark.parametrize(
    ("actor", "found"),
    [
        ({"id": "a", "publicKey": {"id": "a#k", "owner": "a", "publicKeyPem": "P"}}, ("a", "P")),
        (
            {
                "id": "a",
                "publicKey": [{"id": "a#x", "publicKeyPem": "X"}, {"id": "a#k", "publicKeyPem": "P"}],
            },
            ("a", "P"),
        ),
        ({"id": "a", "publicKey": {"id": "a#other", "owner": "a", "publicKeyPem": "P"}}, None),
        ({"id": "a"}, None),
        ("not an actor", None),
    ],
)
def test_the_signers_key_is_found_by_its_id(actor: Any, found: tuple[str, str] | None) -> None:
    assert documents.public_key_of(actor, "a#k") == found


def test_the_rate_limiter_refills_over_time_per_address() -> None:
    limiter = RateLimiter(per_minute=2)
    assert limiter.admit("a", 0.0) is None and limiter.admit("a", 0.0) is None
    wait = limiter.admit("a", 0.0)
    assert wait == pytest.approx(30.0)
    assert limiter.admit("b", 0.0) is None  # another address has its own bucket
    assert limiter.admit("a", 29.0) is not None and limiter.admit("a", 31.0) is None
    assert RateLimiter(per_minute=0).admit("a", 0.0) is None  # 0: no limit


def test_the_rate_limiter_table_stays_bounded() -> None:
    limiter = RateLimiter(per_minute=1, max_addresses=3)
    for n in range(10):
        limiter.admit(f"10.0.0.{n}", 0.0)
    assert limiter.admit("10.0.0.0", 0.0) is None  # forgotten, so admitted again


def test_followers_survive_a_restart(tmp_path: Path) -> None:
    store = FollowerStore(tmp_path)
    assert store.add("https://a.example/u") and not store.add("https://a.example/u")
    store.add("https://b.example/u")
    store.remove("https://a.example/u")
    assert FollowerStore(tmp_path).actors() == ["https://b.example/u"]
    (tmp_path / "activitypub" / "followers.json").write_text("{broken")
    assert FollowerStore(tmp_path).actors() == []
