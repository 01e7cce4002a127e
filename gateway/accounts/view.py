"""How accounts are shown: the `/v1/accounts` entries and the `accounts list` table.

Pure rendering over `AccountState`. The seed's fields come first and keep their meaning
(`name, home, healthy, used, last_error, cooldown_remaining_seconds`); ours follow. Never shows a
credential: only the account name, its directory and what the pool observed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.accounts.state import AccountState, Health

SINGLE_ACCOUNT_NOTE = "single-account mode (no AccountRouter configured)"


def iso_time(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def account_entry(
    state: AccountState, home: str | None, is_oauth: bool, now: float, wall: float
) -> dict[str, Any]:
    health = state.health(now)
    remaining = state.remaining(now)
    cooling = remaining is not None
    return {
        "name": state.name,
        "home": home,
        "healthy": health in (Health.HEALTHY, Health.BUSY),
        "used": state.used,
        "last_error": state.last_error,
        "cooldown_remaining_seconds": math.ceil(remaining) if remaining is not None else None,
        "state": str(health),
        "cooldown_reason": str(state.cooldown_reason) if cooling and state.cooldown_reason else None,
        "cooldown_until": iso_time(wall + remaining) if remaining is not None else None,
        "quota_reset_at": iso_time(state.reset_at) if cooling else None,
        "in_flight": state.in_flight,
        "max_concurrent": state.max_concurrent,
        "priority": state.priority,
        "weight": state.weight,
        "models": list(state.models),
        "credential": "oauth" if is_oauth else "api_key",
        "refresh": {
            "last_ok": state.last_refresh_ok,
            "failures": state.refresh_failures,
        },
    }


def accounts_body(entries: Sequence[Mapping[str, Any]], single_account: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"accounts": list(entries)}
    if single_account:
        body["note"] = SINGLE_ACCOUNT_NOTE
    return body


TABLE_COLUMNS = ("name", "healthy", "used", "home", "state", "reason", "reset", "in_flight", "refresh")


def _cell(entry: Mapping[str, Any], column: str) -> str:
    if column == "healthy":
        return "true" if entry.get("healthy") else "false"  # the seed prints Rust booleans
    if column == "reason":
        return str(entry.get("cooldown_reason") or "-")
    if column == "reset":
        return str(entry.get("quota_reset_at") or entry.get("cooldown_until") or "-")
    if column == "refresh":
        refresh = entry.get("refresh") or {}
        if entry.get("credential") != "oauth":
            return "n/a"
        last = refresh.get("last_ok")
        return "-" if last is None else ("ok" if last else f"failing({refresh.get('failures', 0)})")
    value = entry.get(column)
    return "-" if value is None else str(value)


def accounts_table(entries: Sequence[Mapping[str, Any]]) -> str:
    """The seed's `name  healthy  used  home` table, with our state columns after it."""
    rows = [list(TABLE_COLUMNS)] + [[_cell(e, c) for c in TABLE_COLUMNS] for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(TABLE_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
