"""The one error a client gets when no account can take its request.

The seed's `502 Upstream authentication unavailable`, with `retry-after` set to the earliest
moment an account recovers (when waiting can help at all). Pure.
"""

from __future__ import annotations

import math

from gateway.errors import GatewayError
from gateway.proxy.pool import NoAccountAvailable


def no_account_error(exc: NoAccountAvailable) -> GatewayError:
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(exc.retry_after)))
    return GatewayError(502, "api_error", f"Upstream authentication unavailable: {exc}", headers)
