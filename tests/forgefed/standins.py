"""Other ActivityPub servers, on 127.0.0.1, that sign and verify with the independent `pyhttpsig`.

`RemoteActor` follows the router with a signed Follow and checks the signed Accept delivered to its
inbox. `Tracker` is a ForgeFed ticket tracker: it verifies the router's signed Offer{Ticket} and
its signed polls, answers the Offer with an Accept (in the POST reply, or later by a signed delivery
to the router's inbox, as the spec allows) and resolves the ticket after a few polls.
Neither uses the router's own signing code: keys are fetched from the router's actor document.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import aiohttp
import httpsig as oracle
from aiohttp import web

from tests.forgefed.keys import rsa_pem

AS2 = "https://www.w3.org/ns/activitystreams"


def digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def public_pem_of(private_pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def signed_send(
    private_pem: str,
    key_id: str,
    method: str,
    url: str,
    activity: dict[str, Any] | None = None,
    **tamper: Any,
) -> tuple[int, Any]:
    """Sign with the oracle and send. `tamper`: body=bytes sent instead of the signed one."""
    target = aiohttp.client.URL(url)
    host = f"{target.host}:{target.port}"
    body = json.dumps(activity).encode() if activity is not None else None
    headers = {"Host": host, "Date": formatdate(time.time(), usegmt=True)}
    names = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = digest(body)
        headers["Content-Type"] = "application/activity+json"
        names.append("digest")
    signer = oracle.HeaderSigner(
        key_id, private_pem, algorithm="rsa-sha256", headers=names, sign_header="signature"
    )
    signed = signer.sign(headers, host=host, method=method, path=target.raw_path_qs)
    sent = {"Host": host, "Date": signed["date"], "Signature": signed["signature"]}
    if body is not None:
        sent |= {"Digest": signed["digest"], "Content-Type": "application/activity+json"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, data=tamper.get("body", body), headers=sent) as response,
    ):
        text = await response.text()
        return response.status, (json.loads(text) if text.strip() else None)


async def verify_incoming(request: web.Request, body: bytes) -> str:
    """Check an incoming request the way a Mastodon-compatible server does; return the signer."""
    sig = oracle.utils.parse_signature_header(request.headers["Signature"])
    key_id = sig["keyId"]
    async with (
        aiohttp.ClientSession() as http,
        http.get(key_id.split("#")[0], headers={"Accept": "application/activity+json"}) as response,
    ):
        actor = await response.json(content_type=None)
    assert actor["publicKey"]["id"] == key_id, "keyId is not the actor's key"
    required = ["(request-target)", "host", "date"]
    if request.method == "POST":
        required.append("digest")
        assert request.headers["Digest"] == digest(body), "Digest does not match the body"
    verifier = oracle.HeaderVerifier(
        dict(request.headers),
        actor["publicKey"]["publicKeyPem"],
        required_headers=required,
        method=request.method,
        path=request.raw_path,
        sign_header="signature",
    )
    assert verifier.verify(), "signature does not verify"
    return str(actor["id"])


class Server:
    """An aiohttp app on 127.0.0.1:0 with an actor document of its own."""

    name = "actor"

    def __init__(self) -> None:
        self.private_pem = rsa_pem(self.name)
        self.app = web.Application()
        self.runner: web.AppRunner | None = None
        self.url = ""

    @property
    def actor_id(self) -> str:
        return f"{self.url}/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.actor_id}#main-key"

    def actor_document(self) -> dict[str, Any]:
        return {
            "@context": [AS2],
            "id": self.actor_id,
            "type": "Person",
            "preferredUsername": self.name,
            "inbox": f"{self.actor_id}/inbox",
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor_id,
                "publicKeyPem": public_pem_of(self.private_pem),
            },
        }

    async def __aenter__(self) -> Server:
        self.app.router.add_get(f"/{self.name}", self._actor)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    async def _actor(self, request: web.Request) -> web.Response:
        return web.json_response(self.actor_document(), content_type="application/activity+json")


class RemoteActor(Server):
    name = "alice"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []
        self.signers: list[str] = []
        self.failures: list[str] = []
        self.app.router.add_post(f"/{self.name}/inbox", self._inbox)

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            self.signers.append(await verify_incoming(request, body))
        except Exception as exc:  # a stand-in reports, never raises
            self.failures.append(f"{type(exc).__name__}: {exc}")
            return web.json_response({"error": "bad signature"}, status=401)
        self.received.append(json.loads(body))
        return web.Response(status=202)


@dataclass
class TrackerScript:
    mode: str = "sync"
    """sync: Accept in the POST reply; async: 202 now, signed Accept delivered later; reject; error."""
    resolve_after: int = 3
    answer: dict[str, Any] = field(
        default_factory=lambda: {
            "content": "The answer is 42.",
            "usage": {"prompt_tokens": 11, "completion_tokens": 7},
        }
    )


class Tracker(Server):
    name = "tracker"

    def __init__(self, script: TrackerScript | None = None) -> None:
        super().__init__()
        self.script = script or TrackerScript()
        self.offers: list[dict[str, Any]] = []
        self.polls = 0
        self.task_polls: dict[str, int] = {}
        self.deliveries: set[asyncio.Task[Any]] = set()
        self.signers: list[str] = []
        self.failures: list[str] = []
        self.app.router.add_post(f"/{self.name}/inbox", self._inbox)
        self.app.router.add_get(f"/{self.name}/issues/{{n}}", self._task)

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"

    async def _checked(self, request: web.Request, body: bytes) -> web.Response | None:
        try:
            self.signers.append(await verify_incoming(request, body))
        except Exception as exc:  # a stand-in reports, never raises
            self.failures.append(f"{type(exc).__name__}: {exc}")
            return web.json_response({"error": "bad signature"}, status=401)
        return None

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        refused = await self._checked(request, body)
        if refused is not None:
            return refused
        offer = json.loads(body)
        self.offers.append(offer)
        task = f"{self.actor_id}/issues/{len(self.offers)}"
        if self.script.mode == "error":
            return web.Response(status=500, text="tracker exploded")
        kind = "Reject" if self.script.mode == "reject" else "Accept"
        reply = {
            "@context": [AS2],
            "id": f"{self.actor_id}/outbox/{len(self.offers)}",
            "type": kind,
            "actor": self.actor_id,
            "to": [offer["actor"]],
            "object": offer["id"],
            "result": task,
        }
        if self.script.mode == "async":
            async with (
                aiohttp.ClientSession() as http,
                http.get(offer["actor"], headers={"Accept": "application/activity+json"}) as response,
            ):
                router_inbox = (await response.json(content_type=None))["inbox"]
            delivery = signed_send(self.private_pem, self.key_id, "POST", router_inbox, reply)
            self.deliveries.add(asyncio.get_running_loop().create_task(delivery))
            return web.Response(status=202)
        return web.json_response(reply, content_type="application/activity+json")

    async def _task(self, request: web.Request) -> web.Response:
        refused = await self._checked(request, b"")
        if refused is not None:
            return refused
        self.polls += 1
        number = request.match_info["n"]
        self.task_polls[number] = self.task_polls.get(number, 0) + 1
        task: dict[str, Any] = {"@context": [AS2], "id": str(request.url), "type": "Ticket"}
        if self.task_polls[number] >= self.script.resolve_after:
            task |= {"isResolved": True, **self.script.answer}
        return web.json_response(task, content_type="application/activity+json")
