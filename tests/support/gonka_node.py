"""A stand-in Gonka transfer-agent node on 127.0.0.1:0, checking requests as the real one does.

It knows requesters' public keys (the chain's accounts), verifies `Authorization` (base64 r‖s,
low-S) over sha256(hex sha256(body) ‖ X-Timestamp ‖ its own address) with the requester's key,
refuses a timestamp outside 10 s of its clock and a reused signature, and answers OpenAI JSON or
SSE (Chat Completions and Responses) with usage (a chat stream's usage chunk only when asked for).
It also serves the discovery documents (participants, transfer-agent whitelist, identity) so the
gateway can find it from a source URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.gonka.signing import verify

CHAT_USAGE = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
RESPONSES_USAGE = {
    "input_tokens": 13, "output_tokens": 6, "total_tokens": 19,
    "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0},
}  # fmt: skip
ANSWER = "Hello from a Gonka node"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class GonkaNode:
    address: str
    """This node's (transfer agent's) address: what requests must be signed for."""
    accounts: dict[str, bytes]
    """Requester address -> compressed public key, as the chain would publish them."""
    clock_ns: Callable[[], int] = time.time_ns
    window_ns: int = 10 * 10**9
    allowed: list[str] | None = None
    excluded: list[str] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _used: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None

    def _check(self, request: web.Request, body: bytes) -> web.Response | None:
        authorization = request.headers.get("Authorization", "")
        requester = request.headers.get("X-Requester-Address", "")
        stamp = request.headers.get("X-Timestamp", "")
        key = self.accounts.get(requester)
        if key is None:
            return web.Response(status=401, text=f"Requester {requester!r} not found on chain")
        if not stamp.isdigit() or abs(self.clock_ns() - int(stamp)) > self.window_ns:
            return web.Response(status=400, text="Request timestamp is too old")
        if not verify(key, authorization, body, int(stamp), self.address):
            return web.Response(status=401, text="Unable to validate request against PubKey")
        if authorization in self._used:
            return web.Response(status=400, text="AuthKey has already been used")
        self._used.add(authorization)
        return None

    async def _inference(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        refusal = self._check(request, body)
        self.seen.append(Seen(request.path, dict(request.headers), body, refusal.status if refusal else 200))
        if refusal is not None:
            return refusal
        doc = json.loads(body)
        model = doc.get("model")
        chat = request.path.endswith("/chat/completions")
        if doc.get("stream") is not True:
            return web.json_response(_chat_answer(model) if chat else _responses_answer(model))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        options = doc.get("stream_options")
        with_usage = isinstance(options, dict) and options.get("include_usage") is True
        frames = _chat_frames(model, with_usage) if chat else _responses_frames(model)
        for frame in frames:
            await response.write(frame)
        await response.write_eof()
        return response

    async def _participants(self, request: web.Request) -> web.Response:
        me = {"index": self.address, "inference_url": self.url, "weight": 10}
        return web.json_response({
            "active_participants": {"participants": [me], "epoch_group_id": 7},
            "excluded_participants": [{"address": a} for a in self.excluded],
        })  # fmt: skip

    async def _params(self, request: web.Request) -> web.Response:
        access = {"allowed_transfer_addresses": self.allowed or []}
        return web.json_response({"params": {"transfer_agent_access_params": access}})

    async def _identity(self, request: web.Request) -> web.Response:
        return web.json_response({"data": {"address": self.address, "delegate_ta": {}}})

    async def __aenter__(self) -> GonkaNode:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._inference)
        app.router.add_post("/v1/responses", self._inference)
        app.router.add_get("/v1/epochs/current/participants", self._participants)
        app.router.add_get("/chain-api/productscience/inference/inference/params", self._params)
        app.router.add_get("/v1/identity", self._identity)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _chat_answer(model: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-gonka", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                     "finish_reason": "stop"}],
        "usage": CHAT_USAGE,
    }  # fmt: skip


def _chat_frames(model: Any, with_usage: bool) -> list[bytes]:
    base = {"id": "chatcmpl-gonka", "object": "chat.completion.chunk", "created": 1, "model": model}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                              "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": ANSWER}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": CHAT_USAGE},
    ][: None if with_usage else -1]  # fmt: skip
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def _responses_answer(model: Any, status: str = "completed") -> dict[str, Any]:
    message = {
        "type": "message", "id": "msg_gonka", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
    }  # fmt: skip
    return {
        "id": "resp_gonka", "object": "response", "created_at": 1, "status": status, "model": model,
        "output": [message] if status == "completed" else [], "parallel_tool_calls": True,
        "tool_choice": "auto", "tools": [], "usage": RESPONSES_USAGE if status == "completed" else None,
    }  # fmt: skip


def _responses_frames(model: Any) -> list[bytes]:
    events = [
        {"type": "response.created", "sequence_number": 0,
         "response": _responses_answer(model, "in_progress")},
        {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_gonka",
         "output_index": 0, "content_index": 0, "delta": ANSWER, "logprobs": []},
        {"type": "response.completed", "sequence_number": 2, "response": _responses_answer(model)},
    ]  # fmt: skip
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]
