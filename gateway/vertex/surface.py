"""The Vertex surface on the exchange: rawPredict, streamRawPredict and count-tokens. Pure.

Only the request is translated (`paths.messages_request`): Vertex answers Claude calls with the
Messages API's own JSON and SSE, so the answer is relayed by the pass-through translator, exactly
as on `/v1/messages` (usage, identity rules, errors in Anthropic's shape).
"""

from __future__ import annotations

import json

from gateway.accounts.affinity import session_key_of
from gateway.bedrock.request import parse_body
from gateway.errors import not_found
from gateway.exchange.interface import Incoming, UpstreamRequest
from gateway.exchange.passthrough import AnthropicPassThrough
from gateway.tokens.records import TokenRecord
from gateway.vertex.paths import messages_request, parse_path


class VertexSurface:
    async def translator(self, incoming: Incoming, record: TokenRecord) -> AnthropicPassThrough:
        call = parse_path(incoming.path)
        if call is None:
            raise not_found(f"Not found: {incoming.method} {incoming.path}")
        path, body = messages_request(call, parse_body(incoming.body))
        encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return AnthropicPassThrough(
            UpstreamRequest(
                method="POST",
                path=path,
                query="",
                headers=tuple(incoming.headers.items()),
                body=encoded,
                model=str(body["model"]),
                session_key=session_key_of(incoming.headers, encoded),
                pinned_account=record.account,
            )
        )
