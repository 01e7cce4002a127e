"""The in-memory view of all token records, and the store seam (`TokenStore`) the service uses.

`TokenState` holds the records and does the one thing that must be atomic: decide whether a token
may make one more request (revoked, expired, request/token budget, requests per minute) and count
it, in one step with no await inside. It is also the whole `memory` storage policy. The file store
extends it with persistence and learns about usage through `_usage_changed`; the Redis store
replaces `admit` with a server-side script so the budget is shared by every replica.

The lock is a `threading.Lock`, not an asyncio one: handlers run on the event loop, and the file
store's I/O thread merges other processes' changes in under the same lock.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import NamedTuple, Protocol

from gateway.tokens import journal
from gateway.tokens.records import Denial, TokenRecord, admission

RATE_WINDOW_SECONDS = 60.0


class StoreError(Exception):
    """Persisting or loading token records failed; the message names the file, never a secret."""


class Admission(NamedTuple):
    """The outcome of `admit`: no record (accepted, uncounted), a denial, or the counted record.
    (A NamedTuple: built once per request, and cheaper than a frozen dataclass.)"""

    record: TokenRecord | None
    denial: Denial | None = None
    retry_after: float | None = None


class TokenStore(Protocol):
    persistent: bool  # False only for the memory policy: records die with the process

    def get(self, token_id: str) -> TokenRecord | None: ...

    def records(self) -> list[TokenRecord]: ...

    async def fetch(self, token_id: str) -> TokenRecord | None: ...

    async def admit(self, token_id: str, jwt_exp: int, now: float, reserve: int = 0) -> Admission: ...

    def release(self, token_id: str, reserved: int) -> None: ...

    async def add_tokens(
        self, token_id: str, input_tokens: int, output_tokens: int
    ) -> TokenRecord | None: ...

    async def put(self, record: TokenRecord) -> None: ...

    async def revoke(self, token_id: str) -> TokenRecord | None: ...

    async def expire(self, token_id: str, expires_at: int) -> TokenRecord | None: ...

    async def refresh(self, token_id: str | None = None) -> None: ...

    async def open(self) -> None: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...


class TokenState:
    """Records by id plus usage not yet persisted (`_pending`: id → [requests, input, output])."""

    persistent = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, TokenRecord] = {}
        self._pending: dict[str, list[int]] = {}
        self._windows: dict[str, deque[float]] = {}
        self._reserved: dict[str, int] = {}  # tokens held by this process's in-flight requests

    # ---- reads

    def get(self, token_id: str) -> TokenRecord | None:
        return self._records.get(token_id)

    def records(self) -> list[TokenRecord]:
        with self._lock:
            return list(self._records.values())

    # ---- usage (synchronous, atomic)

    async def fetch(self, token_id: str) -> TokenRecord | None:
        return self._records.get(token_id)

    async def admit(self, token_id: str, jwt_exp: int, now: float, reserve: int = 0) -> Admission:
        return self.consume(token_id, jwt_exp, now, reserve)

    def consume(self, token_id: str, jwt_exp: int, now: float, reserve: int = 0) -> Admission:
        """Check and count one request, atomically. A token without a record is admitted and not
        counted (the seed's behaviour); a refused request counts nowhere.

        Token budgets: the request holds `reserve` tokens (its `max_tokens`) until `release`. While
        other requests of the key are in flight, it is admitted only if used + held + reserve fits
        the budget, so concurrency never overshoots it; with none in flight the seed's rule stands
        (admitted while used < budget), so a small budget still serves one large request."""
        with self._lock:
            record = self._records.get(token_id)
            if record is None:
                return Admission(None)
            window = self._window(record, now)
            denial = admission(record, jwt_exp, now, len(window) if window is not None else 0)
            held = self._reserved.get(token_id, 0)
            cap = record.max_tokens
            if denial is None and cap is not None and held and record.used_tokens + held + reserve > cap:
                denial = Denial.TOKEN_BUDGET  # would not fit beside what in-flight requests hold
            if denial is not None:
                retry = None
                if denial is Denial.RATE_LIMIT and window:
                    retry = window[0] + RATE_WINDOW_SECONDS - now
                return Admission(record, denial, retry)
            record = record.with_usage(
                record.used_requests + 1, record.used_input_tokens, record.used_output_tokens
            )
            self._records[token_id] = record
            if window is not None:
                window.append(now)
            if record.max_tokens is not None and reserve > 0:
                self._reserved[token_id] = held + reserve
            self._add_pending(token_id, 1, 0, 0)
        self._usage_changed()
        return Admission(record)

    def release(self, token_id: str, reserved: int) -> None:
        """Give back what `consume` held for a request that has ended (answered, failed or cut)."""
        if reserved <= 0:
            return
        with self._lock:
            left = self._reserved.get(token_id, 0) - reserved
            if left > 0:
                self._reserved[token_id] = left
            else:
                self._reserved.pop(token_id, None)

    def _window(self, record: TokenRecord, now: float) -> deque[float] | None:
        """This process's request times in the last minute, for tokens with a rate limit."""
        if record.rate_limit_per_minute is None:
            return None
        window = self._windows.setdefault(record.id, deque())
        while window and window[0] <= now - RATE_WINDOW_SECONDS:
            window.popleft()
        return window

    async def add_tokens(self, token_id: str, input_tokens: int, output_tokens: int) -> TokenRecord | None:
        input_tokens, output_tokens = max(0, input_tokens), max(0, output_tokens)
        with self._lock:
            record = self._records.get(token_id)
            if record is None or (input_tokens == 0 and output_tokens == 0):
                return record
            record = record.with_usage(
                record.used_requests,
                record.used_input_tokens + input_tokens,
                record.used_output_tokens + output_tokens,
            )
            self._records[token_id] = record
            self._add_pending(token_id, 0, input_tokens, output_tokens)
        self._usage_changed()
        return record

    def _add_pending(self, token_id: str, requests: int, input_tokens: int, output_tokens: int) -> None:
        delta = self._pending.get(token_id)
        if delta is None:
            self._pending[token_id] = [requests, input_tokens, output_tokens]
        else:
            delta[0] += requests
            delta[1] += input_tokens
            delta[2] += output_tokens

    def _usage_changed(self) -> None:
        """Hook for persistent stores; the memory policy keeps nothing."""
        self._pending.clear()

    # ---- administrative changes

    def _apply(self, entry: journal.Entry) -> TokenRecord | None:
        with self._lock:
            record = journal.apply(entry, self._records.get(journal.entry_id(entry)))
            if record is not None:
                self._records[record.id] = record
            return record

    async def put(self, record: TokenRecord) -> None:
        self._apply(journal.Put(record))

    async def revoke(self, token_id: str) -> TokenRecord | None:
        return self._apply(journal.Revoke(token_id))

    async def expire(self, token_id: str, expires_at: int) -> TokenRecord | None:
        return self._apply(journal.Expire(token_id, expires_at))

    async def refresh(self, token_id: str | None = None) -> None:
        """Catch up with changes other processes made (all, or just `token_id` where that is cheaper;
        nothing to catch up in memory)."""
        return None

    async def open(self) -> None:
        return None

    def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


def with_delta(record: TokenRecord, delta: list[int] | None) -> TokenRecord:
    """`record` (as read from disk) plus this process's not yet persisted usage."""
    if not delta:
        return record
    return record.with_usage(
        record.used_requests + delta[0],
        record.used_input_tokens + delta[1],
        record.used_output_tokens + delta[2],
    )


MemoryTokenStore = TokenState
