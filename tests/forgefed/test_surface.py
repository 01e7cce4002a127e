"""The public ActivityPub surface over real HTTP: discovery, the signed inbox, toggles and limits."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dsl.model import ActivityPubConfig, CraterConfig, FeaturesConfig, SecretRef, UpstreamProvider
from gateway.app import build_app
from gateway.forgefed import httpsig
from gateway.forgefed.keys import KeyConfigurationError
from tests.forgefed.conftest import eventually, federated_config, federated_gateway
from tests.forgefed.keys import rsa_pem
from tests.forgefed.standins import RemoteActor, public_pem_of, signed_send
from tests.support.gateway import TEST_SECRET

ACTIVITY = "application/activity+json"


async def fetch(url: str, accept: str = ACTIVITY) -> tuple[int, str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Accept": accept}) as response:
        text = await response.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        return response.status, response.headers.get("content-type", ""), body


async def test_discovery_documents_are_public_and_activitypub_json(tmp_path: Path) -> None:
    async with federated_gateway(tmp_path) as gw:
        host = gw.url.removeprefix("http://")
        status, ctype, jrd = await fetch(f"{gw.url}/.well-known/webfinger?resource=acct:code@{host}")
        assert (status, ctype) == (200, "application/jrd+json")
        actor_url = f"{gw.url}/actor/code"
        assert jrd["subject"] == f"acct:code@{host}"
        assert {"rel": "self", "type": ACTIVITY, "href": actor_url} in jrd["links"]
        status, _, _ = await fetch(f"{gw.url}/.well-known/webfinger?resource=acct:someone@{host}")
        assert status == 404

        for path in ("/actor/code", "/api/services/activitypub/actor/code"):
            status, ctype, actor = await fetch(gw.url + path)  # no la_sk_ key
            assert (status, ctype) == (200, ACTIVITY)
            assert actor["id"] == actor_url and actor["type"] == "Service"
            assert actor["inbox"] == f"{gw.url}/inbox/code"
            assert actor["publicKey"]["id"] == f"{actor_url}#main-key"
            assert actor["publicKey"]["owner"] == actor_url
            httpsig.load_public_key(actor["publicKey"]["publicKeyPem"])
        status, ctype, _ = await fetch(f"{gw.url}/actor/code", 'application/ld+json; profile="x"')
        assert (status, ctype) == (
            200,
            'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        )
        status, _, body = await fetch(f"{gw.url}/actor/code", "text/html")
        assert status == 406 and body["error"] == "not_acceptable"

        for path in ("/outbox/code", "/actors/code/followers"):
            status, ctype, collection = await fetch(gw.url + path)
            assert (status, ctype) == (200, ACTIVITY)
            assert collection["type"] == "OrderedCollection"
            assert collection["totalItems"] == 0 and collection["orderedItems"] == []


async def test_a_signed_follow_gets_a_signed_accept_and_the_follower_is_listed(tmp_path: Path) -> None:
    async with RemoteActor() as alice, federated_gateway(tmp_path) as gw:
        follow = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{alice.actor_id}/follows/1",
            "type": "Follow",
            "actor": alice.actor_id,
            "object": f"{gw.url}/actor/code",
        }
        status, reply = await signed_send(
            alice.private_pem, alice.key_id, "POST", f"{gw.url}/inbox/code", follow
        )
        assert status == 202 and reply["type"] == "Accept" and reply["object"]["id"] == follow["id"]

        await eventually(lambda: bool(alice.received or alice.failures))
        assert alice.failures == []
        assert alice.signers == [f"{gw.url}/actor/code"]  # verified with the key our actor publishes
        (accept,) = alice.received
        assert accept["type"] == "Accept" and accept["actor"] == f"{gw.url}/actor/code"
        assert accept["object"]["id"] == follow["id"]

        _, _, followers = await fetch(f"{gw.url}/actors/code/followers")
        assert followers["orderedItems"] == [alice.actor_id] and followers["totalItems"] == 1

        undo = {"id": f"{alice.actor_id}/undo/1", "type": "Undo", "actor": alice.actor_id, "object": follow}
        status, _ = await signed_send(alice.private_pem, alice.key_id, "POST", f"{gw.url}/inbox/code", undo)
        assert status == 202
        _, _, followers = await fetch(f"{gw.url}/actors/code/followers")
        assert followers["orderedItems"] == []


async def test_unsigned_or_badly_signed_inbox_posts_are_refused(tmp_path: Path) -> None:
    async with RemoteActor() as alice, federated_gateway(tmp_path) as gw:
        inbox = f"{gw.url}/inbox/code"
        follow = {
            "id": f"{alice.actor_id}/follows/2",
            "type": "Follow",
            "actor": alice.actor_id,
            "object": f"{gw.url}/actor/code",
        }
        async with aiohttp.ClientSession() as http, http.post(inbox, json=follow) as response:
            assert response.status == 401
            assert (await response.json())["error"] == "signature_required"

        tampered = json.dumps({**follow, "id": f"{alice.actor_id}/follows/evil"}).encode()
        status, body = await signed_send(
            alice.private_pem, alice.key_id, "POST", inbox, follow, body=tampered
        )
        assert status == 401 and "Digest" in body["message"]

        impostor = {**follow, "actor": "http://127.0.0.1:9/mallory"}  # signed by alice, claims mallory
        status, body = await signed_send(alice.private_pem, alice.key_id, "POST", inbox, impostor)
        assert status == 401 and "does not belong" in body["message"]

        elsewhere = "http://127.0.0.1:9/nobody#main-key"  # a keyId pointing where nothing answers
        status, body = await signed_send(alice.private_pem, elsewhere, "POST", inbox, follow)
        assert (status, body["message"]) == (401, "the signing key could not be fetched")

        forged_key = rsa_pem("not alice")  # alice's keyId, someone else's key
        status, body = await signed_send(forged_key, alice.key_id, "POST", inbox, follow)
        assert status == 401 and body["error"] == "invalid_signature"

        status, body = await signed_send(alice.private_pem, alice.key_id, "POST", inbox, {"type": "Follow"})
        assert (status, body["message"]) == (400, "activity id is required")
        _, _, followers = await fetch(f"{gw.url}/actors/code/followers")
        assert followers["orderedItems"] == [] and alice.received == []


async def test_activitypub_routes_are_rate_limited_per_client(tmp_path: Path) -> None:
    activitypub = ActivityPubConfig(rate_limit_per_minute=3)
    async with federated_gateway(tmp_path, activitypub=activitypub) as gw:
        statuses = [(await fetch(f"{gw.url}/actor/code"))[0] for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/outbox/code") as response:
            assert response.status == 429 and int(response.headers["retry-after"]) >= 1


async def test_disabled_activitypub_paths_answer_404_not_the_proxy(tmp_path: Path) -> None:
    async with federated_gateway(tmp_path, features=FeaturesConfig(activitypub=False)) as gw:
        for path in (
            "/actor/code",
            "/.well-known/webfinger?resource=x",
            "/api/services/activitypub/actor/code",
        ):
            status, _, body = await fetch(gw.url + path)
            assert status == 404, (path, body)  # the catch-all proxy would ask for a key (401)
    async with (
        federated_gateway(tmp_path) as gw,
        aiohttp.ClientSession() as http,
        http.put(f"{gw.url}/actor/code") as response,  # not a route method: still never proxied
    ):
        assert response.status in (404, 405)


def test_the_generated_key_is_kept_across_restarts(tmp_path: Path) -> None:
    config = federated_config(tmp_path, 8080)
    first = build_app(config, {"TOKEN_SECRET": TEST_SECRET})
    second = build_app(config, {"TOKEN_SECRET": TEST_SECRET})
    from gateway.forgefed.surface import FEDERATION

    assert first[FEDERATION].keys.public_key_pem == second[FEDERATION].keys.public_key_pem
    assert (tmp_path / "activitypub" / "actor-key.pem").stat().st_mode & 0o077 == 0


def test_configured_keys_are_used_and_checked(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from gateway.forgefed.surface import FEDERATION

    private = rsa_pem("configured")
    env = {"TOKEN_SECRET": TEST_SECRET, "AP_KEY": private}
    ref = ActivityPubConfig(private_key=SecretRef(env="AP_KEY"))
    app = build_app(federated_config(tmp_path, 8080, activitypub=ref), env)
    assert app[FEDERATION].keys.public_key_pem == public_pem_of(private)

    mismatched = dataclasses.replace(ref, public_key_pem=public_pem_of(rsa_pem("other")))
    with pytest.raises(KeyConfigurationError, match="not the public half"):
        build_app(federated_config(tmp_path, 8080, activitypub=mismatched), env)

    public_only = ActivityPubConfig(public_key_pem=public_pem_of(private))
    with caplog.at_level(logging.WARNING):
        app = build_app(federated_config(tmp_path, 8080, activitypub=public_only), env)
    assert app[FEDERATION].keys.private_key is None and "UNSIGNED" in caplog.text

    placeholder = ActivityPubConfig(public_key_pem="replace-with-public-key-pem")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        app = build_app(federated_config(tmp_path, 8080, activitypub=placeholder), env)
    assert "not a PEM public key" in caplog.text and app[FEDERATION].keys.private_key is not None


def test_crater_start_up_says_what_will_not_work(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = federated_config(
        tmp_path,
        8080,
        provider=UpstreamProvider.CRATER,
        crater=CraterConfig(inbox="http://127.0.0.1:9/inbox", actor="https://elsewhere.example/me"),
        features=FeaturesConfig(activitypub=False),
    )
    with caplog.at_level(logging.WARNING):
        build_app(config, {"TOKEN_SECRET": TEST_SECRET})
    assert "CRATER_FORGEFED_ACTOR (https://elsewhere.example/me) is not the router's actor" in caplog.text
    assert "ActivityPub routes are disabled" in caplog.text
