"""Header rules of the pass-through proxy. Pure; never imports aiohttp.

Request: drop the client's credential, host, length and hop-by-hop headers; add the upstream
credential; default `anthropic-version`; merge the OAuth beta only for OAuth credentials.
Response: drop hop-by-hop headers and anything that could carry a credential or cookie.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from multidict import CIMultiDict

OAUTH_BETA = "oauth-2025-04-20"
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# accept-encoding: we relay bytes as they come, and token usage must stay readable in them.
STRIPPED_REQUEST = HOP_BY_HOP | {"host", "authorization", "x-api-key", "content-length", "accept-encoding"}
# The server decodes request bodies in these encodings before we see them (aiohttp's parser), so
# the bytes forwarded are plain and must not be labelled as still encoded; others pass as sent.
DECODED_REQUEST_ENCODINGS = frozenset({"gzip", "deflate", "br", "zstd"})
STRIPPED_RESPONSE = HOP_BY_HOP | {"set-cookie", "authorization", "x-api-key", "server", "date"}


def merge_oauth_beta(value: str | None) -> str:
    """Append the OAuth beta to a comma list unless present (trimmed compare); alone if empty."""
    if not value or not value.strip():
        return OAUTH_BETA
    if any(part.strip() == OAUTH_BETA for part in value.split(",")):
        return value
    return f"{value},{OAUTH_BETA}"


def upstream_request_headers(
    client: Iterable[tuple[str, str]], credential: Mapping[str, str], is_oauth: bool
) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    betas: list[str] = []
    version = ""
    for name, value in client:
        lower = name.lower()
        if lower in STRIPPED_REQUEST:
            continue
        if lower == "content-encoding" and value.strip().lower() in DECODED_REQUEST_ENCODINGS:
            continue
        if lower == "anthropic-beta":
            if value.strip():
                betas.append(value)
            continue
        if lower == "anthropic-version":
            version = version or value.strip()  # one version upstream: the client's first non-empty
            continue
        out.add(name, value)
    out.update(credential)
    out["anthropic-version"] = version or DEFAULT_ANTHROPIC_VERSION
    beta = ",".join(betas) if betas else None
    if is_oauth:
        out["anthropic-beta"] = merge_oauth_beta(beta)
    elif beta:
        out["anthropic-beta"] = beta
    return out


def client_response_headers(upstream: Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream:
        if name.lower() not in STRIPPED_RESPONSE:
            out.add(name, value)
    return out


def is_event_stream(headers: Mapping[str, str]) -> bool:
    return "text/event-stream" in headers.get("content-type", "")
