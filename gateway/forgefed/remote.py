"""Talking to other ActivityPub servers: signed GET and POST, and the sender keys we verify against.

Thin I/O over one aiohttp ClientSession. Every request we make is signed with the actor's key
(when we have a private key), carries the ActivityPub media types, has a time bound and reads at
most `MAX_DOCUMENT_BYTES`. Fetched keys are cached for an hour (by the injected clock) and fetched
again once when a signature fails, so a remote key rotation heals itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from yarl import URL

from gateway.forgefed import documents, httpsig
from gateway.forgefed.keys import KeyRing

MAX_DOCUMENT_BYTES = 1024 * 1024
KEY_CACHE_SECONDS = 3600.0
KEY_CACHE_SIZE = 1000


class Clock(Protocol):
    """Time for the federation code: tests pass a virtual one so polls and retries do not wait."""

    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class RemoteError(Exception):
    """A remote server could not be reached or answered unusably (message safe to show)."""


@dataclass(frozen=True)
class RemoteAnswer:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else None
        except (ValueError, RecursionError):
            raise RemoteError("the answer is not valid JSON") from None

    def text(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace").strip()


@dataclass
class Remote:
    """Our side of server-to-server ActivityPub: `get`, `post` and sender key lookup."""

    keyring: KeyRing
    key_id: str
    clock: Clock = field(default_factory=SystemClock)
    timeout: float = 30.0
    session: aiohttp.ClientSession | None = None
    """Opened and closed by the app's cleanup context (`surface.federation_ctx`)."""
    _key_cache: dict[str, tuple[float, str, httpsig.PublicKey]] = field(default_factory=dict)
    _inboxes: dict[str, str] = field(default_factory=dict)

    async def request(self, method: str, url: str, activity: dict[str, Any] | None = None) -> RemoteAnswer:
        target = URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise RemoteError(f"not an http(s) URL: {url[:200]}")
        body = json.dumps(activity).encode() if activity is not None else None
        host = target.raw_host or ""
        if not target.is_default_port():
            host = f"{host}:{target.port}"
        headers = {"Accept": documents.ACCEPT_ACTIVITY, "Host": host}
        if body is not None:
            headers["Content-Type"] = documents.LD_JSON
        private_key = self.keyring.get().private_key
        if private_key is not None:
            headers |= httpsig.sign_request(
                private_key, self.key_id, method, target.raw_path_qs, host, body, self.clock.wall()
            )
        if self.session is None:
            raise RemoteError("the federation HTTP session is not open")
        try:
            async with (
                asyncio.timeout(self.timeout),
                self.session.request(method, target, data=body, headers=headers, allow_redirects=False) as r,
            ):
                return RemoteAnswer(r.status, await r.content.read(MAX_DOCUMENT_BYTES))
        except TimeoutError:
            raise RemoteError(f"{method} {url[:200]} timed out") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise RemoteError(f"{method} {url[:200]} failed: {type(exc).__name__}") from None

    async def get(self, url: str) -> RemoteAnswer:
        return await self.request("GET", url)

    async def post(self, url: str, activity: dict[str, Any]) -> RemoteAnswer:
        return await self.request("POST", url, activity)

    async def sender_key(self, key_id: str, fresh: bool = False) -> tuple[str, httpsig.PublicKey]:
        """(owner actor, public key) for a signature's keyId, from the owner's actor document."""
        now = self.clock.monotonic()
        cached = self._key_cache.get(key_id)
        if cached is not None and not fresh and cached[0] > now:
            return cached[1], cached[2]
        answer = await self.get(key_id.split("#", 1)[0])
        if answer.status != 200:
            raise RemoteError(f"the signer's actor document answered HTTP {answer.status}")
        document = answer.json()
        found = documents.public_key_of(document, key_id)
        if found is None:
            raise RemoteError("the signer's actor document has no such public key")
        owner, pem = found
        try:
            key = httpsig.load_public_key(pem)
        except ValueError:
            raise RemoteError("the signer's public key is not a usable PEM") from None
        if len(self._key_cache) >= KEY_CACHE_SIZE:
            self._key_cache.clear()
        self._key_cache[key_id] = (now + KEY_CACHE_SECONDS, owner, key)
        if isinstance(document, dict) and isinstance(document.get("inbox"), str):
            self._remember_inbox(owner, document["inbox"])
        return owner, key

    async def inbox_of(self, actor: str) -> str:
        """The inbox of `actor` (already known when it signed something we verified)."""
        if actor in self._inboxes:
            return self._inboxes[actor]
        answer = await self.get(actor)
        document = answer.json() if answer.status == 200 else None
        if not isinstance(document, dict) or not isinstance(document.get("inbox"), str):
            raise RemoteError(f"no inbox found for {actor[:200]}")
        self._remember_inbox(actor, document["inbox"])
        return str(document["inbox"])

    def _remember_inbox(self, actor: str, inbox: str) -> None:
        if len(self._inboxes) >= KEY_CACHE_SIZE:
            self._inboxes.clear()
        self._inboxes[actor] = inbox
