"""Which Gonka node receives a request, and which transfer address it is signed for. Pure.

Either the operator lists endpoints (`GONKA_ENDPOINTS`, `url;gonka1address` items, comma-separated,
as the Gonka SDKs read it), or they are discovered from `GONKA_SOURCE_URL`: the current epoch's
active participants (each an `inference_url` and its address, `index`), minus the excluded ones,
kept only when the chain's transfer-agent whitelist allows them. The request is signed for the
picked participant's address even when its identity names a delegate URL to send it to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.gonka.address import is_address

PARTICIPANTS_PATH = "/v1/epochs/current/participants"
PARAMS_PATH = "/chain-api/productscience/inference/inference/params"
IDENTITY_PATH = "/v1/identity"


class EndpointError(ValueError):
    """No usable Gonka endpoint (bad GONKA_ENDPOINTS text, or discovery found none)."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    """The node's OpenAI base, ending in /v1 (requests go to `{url}/chat/completions`)."""
    transfer_address: str


def v1_base(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def parse_endpoints(text: str) -> tuple[Endpoint, ...]:
    """`url;address[,url;address…]` as the SDKs accept it; every item must name both."""
    found: list[Endpoint] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        url, sep, address = item.partition(";")
        url, address = url.strip(), address.strip()
        if not sep or not url.startswith(("http://", "https://")):
            raise EndpointError(f"GONKA_ENDPOINTS item {item[:80]!r} is not `url;gonka1address`")
        if not is_address(address):
            raise EndpointError(f"GONKA_ENDPOINTS item {item[:80]!r} has no valid gonka1 address")
        found.append(Endpoint(v1_base(url), address))
    if not found:
        raise EndpointError("GONKA_ENDPOINTS lists no endpoint")
    return tuple(found)


def participants(doc: Any) -> tuple[Endpoint, ...]:
    """Active participants with an inference URL and an address, minus the excluded ones."""
    if not isinstance(doc, Mapping):
        return ()
    active = doc.get("active_participants")
    listed = active.get("participants") if isinstance(active, Mapping) else None
    excluded_docs = doc.get("excluded_participants")
    excluded = {
        str(entry.get("address"))
        for entry in (excluded_docs if isinstance(excluded_docs, list) else [])
        if isinstance(entry, Mapping)
    }
    found: list[Endpoint] = []
    for entry in listed if isinstance(listed, list) else []:
        if not isinstance(entry, Mapping):
            continue
        url, address = entry.get("inference_url"), entry.get("index")
        if isinstance(url, str) and url and isinstance(address, str) and address not in excluded:
            found.append(Endpoint(v1_base(url), address))
    return tuple(found)


def allowed_addresses(doc: Any) -> frozenset[str] | None:
    """The chain's transfer-agent whitelist; None when the chain sets none (every one allowed)."""
    params = doc.get("params") if isinstance(doc, Mapping) else None
    access = params.get("transfer_agent_access_params") if isinstance(params, Mapping) else None
    allowed = access.get("allowed_transfer_addresses") if isinstance(access, Mapping) else None
    if not isinstance(allowed, list) or not allowed:
        return None
    return frozenset(a for a in allowed if isinstance(a, str))


def usable(found: Sequence[Endpoint], allowed: frozenset[str] | None) -> tuple[Endpoint, ...]:
    kept = tuple(e for e in found if allowed is None or e.transfer_address in allowed)
    if not kept:
        raise EndpointError("Gonka discovery found no active participant allowed as a transfer agent")
    return kept


def delegate(identity: Any, picked: Endpoint, choose: Callable[[Sequence[str]], str]) -> Endpoint:
    """Where to send a request for `picked`: a delegate URL when its identity names some, still
    signed for the picked participant's address."""
    data = identity.get("data") if isinstance(identity, Mapping) else None
    delegates = data.get("delegate_ta") if isinstance(data, Mapping) else None
    urls = [u for u in delegates if isinstance(u, str) and u] if isinstance(delegates, Mapping) else []
    if not urls:
        return picked
    return Endpoint(v1_base(choose(sorted(urls))), picked.transfer_address)
