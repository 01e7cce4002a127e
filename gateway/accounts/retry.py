"""The one error a client gets when no account can take its request.

The seed's `502 Upstream authentication unavailable`, with `retry-after` set to the earliest
moment an account recovers (when waiting can help at all). Pure.
"""

from __future__ import annotations

import math

from gateway.accounts.outcome import NoAccountAvailable
from gateway.errors import GatewayError


def retry_after_header(seconds: float | None) -> dict[str, str]:
    """`retry-after` in whole seconds (at least 1), or nothing when waiting cannot help (None) or
    an account can serve now (0)."""
    return {"retry-after": str(max(1, math.ceil(seconds)))} if seconds else {}


def no_account_error(exc: NoAccountAvailable) -> GatewayError:
    return GatewayError(
        502, "api_error", f"Upstream authentication unavailable: {exc}", retry_after_header(exc.retry_after)
    )
