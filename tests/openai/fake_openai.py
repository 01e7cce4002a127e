"""A stand-in OpenAI-compatible upstream (like LiteLLM) on 127.0.0.1:0 that records every request."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CHUNKS = [
    {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "up-model",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
    {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "up-model",
     "choices": [{"index": 0, "delta": {"content": "Hi from upstream"}, "finish_reason": None}]},
    {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "up-model",
     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
     "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
]  # fmt: skip
STREAM_BODY = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in CHUNKS) + b"data: [DONE]\n\n"


@dataclass
class FakeOpenAI:
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    status: int = 200
    error_message: str = "upstream says no"
    pause: float = 0.0  # seconds a stream waits before its last chunk (a slow model)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((request.path, dict(request.headers), body))
        if self.status != 200:
            error = {"error": {"message": self.error_message, "type": "invalid_request_error", "code": "x"}}
            return web.json_response(error, status=self.status)
        if body.get("stream"):
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            pieces = STREAM_BODY.split(b"\n\n")[:-1]
            for number, piece in enumerate(pieces):
                if number == len(pieces) - 1 and self.pause:
                    await asyncio.sleep(self.pause)
                await response.write(piece + b"\n\n")
            await response.write_eof()
            return response
        return web.json_response({
            "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi from upstream"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        })  # fmt: skip

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/responses", self._chat)
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
