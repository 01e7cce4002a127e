"""A Bedrock InvokeModel body → a Messages API request. Pure; never mutates its input.

Bedrock's body is the Messages body without `model` and `stream`, with `anthropic_version`
(`bedrock-2023-05-31`) and optionally `anthropic_beta` as a list. The model comes from the path
(`/model/{modelId}/invoke…`) or, on the seed's bare `/invoke*` paths, from the body; the endpoint
decides streaming. Everything else passes through unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.bedrock.models import anthropic_model_id
from gateway.errors import bad_request

BEDROCK_FIELDS = ("anthropic_version", "anthropic_beta")


@dataclass(frozen=True)
class MessagesRequest:
    """The Messages body to send upstream, and the betas the client put in its body."""

    body: dict[str, Any]
    betas: tuple[str, ...]

    @property
    def model(self) -> str:
        return str(self.body["model"])

    def encoded(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or a 400 that says what is wrong with it."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise bad_request("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def _betas(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
        raise bad_request("anthropic_beta must be a list of strings")
    return tuple(b.strip() for b in value if b.strip())


def messages_request(body: dict[str, Any], path_model: str | None, stream: bool) -> MessagesRequest:
    """The Messages request for an invoke body; `path_model` is the (escaped or not) path segment."""
    model = path_model if path_model is not None else body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("No model: call /model/{modelId}/invoke, or name the model in the body")
    mapped = anthropic_model_id(model)
    if not mapped:
        raise bad_request(f"Not a model id: {model[:100]!r}")
    betas = _betas(body.get("anthropic_beta"))
    out = {k: v for k, v in body.items() if k not in BEDROCK_FIELDS and k not in ("model", "stream")}
    # Model first, as the SDKs write it: the proxy's model sniffing looks at the first occurrence.
    out = {"model": mapped, **out}
    if stream:
        out["stream"] = True
    return MessagesRequest(out, betas)


def merged_beta_header(client_header: str | None, body_betas: tuple[str, ...]) -> str | None:
    """The client's `anthropic-beta` header with the body's betas appended, each once, in order."""
    seen: list[str] = []
    for part in [*(client_header or "").split(","), *body_betas]:
        name = part.strip()
        if name and name not in seen:
            seen.append(name)
    return ",".join(seen) or None


# Headers that belong to the AWS hop, not to the Messages API (the proxy's own rules then drop
# credentials, host and hop-by-hop headers).
_AWS_HEADER_PREFIXES = ("x-amz-", "amz-sdk-", "x-amzn-")
_REPLACED = frozenset({"accept", "content-type", "content-length", "anthropic-beta"})


def upstream_headers(
    client: Iterable[tuple[str, str]], betas: tuple[str, ...], stream: bool
) -> tuple[tuple[str, str], ...]:
    """The client's headers for the Messages call: AWS-only ones dropped, JSON in, SSE or JSON out,
    and the betas of the header and the body joined into one `anthropic-beta`."""
    kept: list[tuple[str, str]] = []
    beta_header: list[str] = []
    for name, value in client:
        lower = name.lower()
        if lower == "anthropic-beta":
            beta_header.append(value)
        elif lower not in _REPLACED and not lower.startswith(_AWS_HEADER_PREFIXES):
            kept.append((name, value))
    kept.append(("content-type", "application/json"))
    kept.append(("accept", "text/event-stream" if stream else "application/json"))
    beta = merged_beta_header(",".join(beta_header), betas)
    if beta:
        kept.append(("anthropic-beta", beta))
    return tuple(kept)
