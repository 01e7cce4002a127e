"""Decide whether a child object must be written, and whether it is ours to write (pure).

A child is written only when its desired state differs from the live one, so a settled RouterConfig costs
no API writes on resync. "Differs" is two checks: every field we set has our value in the live object (the
server may add defaults, other tools may add fields we do not own), and the live object carries the hash
of the manifest we last applied (so a field we *stopped* setting is noticed too).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from controller import names

APPLIED_HASH_ANNOTATION = f"{names.GROUP}/applied-hash"


def manifest_hash(manifest: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[
        :32
    ]


def stamped(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest with the hash of itself in `metadata.annotations` (never mutates the input)."""
    meta = dict(manifest["metadata"])
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        APPLIED_HASH_ANNOTATION: manifest_hash(manifest),
    }
    return {**manifest, "metadata": meta}


def contains(live: Any, desired: Any) -> bool:
    """Every field of `desired` is in `live` with the same value (lists: same length, item by item)."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(
            k in live and contains(live[k], v) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(a, b) for a, b in zip(live, desired, strict=True))
        )
    return bool(live == desired)


def needs_write(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """True when applying `desired` (already `stamped`) would change what the live object says."""
    if live is None:
        return True
    return not contains(live, desired)


def owner_uids(obj: Mapping[str, Any]) -> set[str]:
    return {str(o.get("uid")) for o in (obj.get("metadata") or {}).get("ownerReferences") or []}


def owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    return uid in owner_uids(obj)
