"""Resource names, list filters and page tokens of the admin API (AIP-122, -132, -158, -160). Pure.

Names are `collection/id` (`tokens/7f3c…`, `accounts/primary`, `providers/litellm`). Filters are
space-separated `field=value` terms that must all hold (`AND` between them is allowed). Page
tokens are opaque to clients: the sort key of the last item served plus a fingerprint of the
filter, so a page token cannot be replayed with a different filter, and items added meanwhile are
neither skipped nor repeated (a cursor, not an offset). Never imports grpc.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
BOOLEANS = {"true": True, "false": False}


class ListingError(ValueError):
    """Bad name, filter, page size or page token; `field` is the request field to blame."""

    def __init__(self, field: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.reason = reason


def resource_id(name: str, collection: str, field: str = "name") -> str:
    """`tokens/abc` → `abc` for collection `tokens`; anything else is a ListingError."""
    prefix = f"{collection}/"
    rest = name.strip().removeprefix(prefix)
    if not name.strip().startswith(prefix) or not rest or "/" in rest:
        raise ListingError(field, f"{field} must be a resource name like {prefix}{{id}}", "INVALID_NAME")
    return rest


def resource_name(collection: str, ident: str) -> str:
    return f"{collection}/{ident}"


def parse_filter(text: str, fields: Mapping[str, Callable[[str], object]]) -> dict[str, object]:
    """`revoked=false account=primary` → {"revoked": False, "account": "primary"}.

    `fields` maps each allowed field to its value parser (which raises ValueError on bad text)."""
    wanted: dict[str, object] = {}
    for term in text.split():
        if term == "AND":
            continue
        key, sep, value = term.partition("=")
        if not sep or key not in fields:
            allowed = ", ".join(sorted(fields))
            message = f"bad filter term {term!r}: use field=value with {allowed}"
            raise ListingError("filter", message, "INVALID_FILTER")
        try:
            wanted[key] = fields[key](value)
        except ValueError as exc:
            message = f"bad value in filter term {term!r}: {exc}"
            raise ListingError("filter", message, "INVALID_FILTER") from exc
    return wanted


def boolean(text: str) -> bool:
    if text.lower() not in BOOLEANS:
        raise ValueError("expected true or false")
    return BOOLEANS[text.lower()]


def choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return text

    return parse


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str
    total_size: int


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def _encode(after: str, query: str) -> str:
    raw = json.dumps({"a": after, "q": _fingerprint(query)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, query: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        after, fingerprint = data["a"], data["q"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        message = "page_token is not one this API returned"
        raise ListingError("page_token", message, "INVALID_PAGE_TOKEN") from exc
    if not isinstance(after, str) or fingerprint != _fingerprint(query):
        message = "page_token belongs to a different filter: start again without it"
        raise ListingError("page_token", message, "INVALID_PAGE_TOKEN")
    return after


def page_size_of(requested: int) -> int:
    if requested < 0:
        raise ListingError("page_size", "page_size must not be negative", "INVALID_PAGE_SIZE")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def paginate(
    items: Sequence[T], key: Callable[[T], str], page_size: int, page_token: str, query: str = ""
) -> Page[T]:
    """One page of `items` (already filtered), ordered by `key`, after the token's position."""
    size = page_size_of(page_size)
    ordered = sorted(items, key=key)
    if page_token:
        after = _decode(page_token, query)
        ordered_tail = [item for item in ordered if key(item) > after]
    else:
        ordered_tail = ordered
    chosen = ordered_tail[:size]
    more = len(ordered_tail) > size
    return Page(chosen, _encode(key(chosen[-1]), query) if more and chosen else "", len(ordered))
