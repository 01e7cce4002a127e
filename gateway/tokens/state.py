"""The in-memory view of all token records, and the store seam (`TokenStore`) the service uses.

`TokenState` holds the records and does the one thing that must be atomic: check a token's budget
and count the request, under one lock hold with no await in between. It is also the whole
`memory` storage policy. File- and Redis-backed stores extend it with persistence; they learn
about usage changes through `_usage_changed` and batch them (see `filestore`).

The lock is a `threading.Lock`, not an asyncio one: handlers call `consume` synchronously on the
event loop, and the file store's I/O thread merges other processes' changes in under the same lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from gateway.tokens import journal
from gateway.tokens.records import Denial, TokenRecord

Decide = Callable[[TokenRecord], Denial | None]


class StoreError(Exception):
    """Persisting or loading token records failed; the message names the file, never a secret."""


class TokenStore(Protocol):
    def get(self, token_id: str) -> TokenRecord | None: ...

    def records(self) -> list[TokenRecord]: ...

    def consume(self, token_id: str, decide: Decide) -> tuple[TokenRecord | None, Denial | None]: ...

    def add_tokens(self, token_id: str, input_tokens: int, output_tokens: int) -> TokenRecord | None: ...

    async def put(self, record: TokenRecord) -> None: ...

    async def revoke(self, token_id: str) -> TokenRecord | None: ...

    async def expire(self, token_id: str, expires_at: int) -> TokenRecord | None: ...

    async def open(self) -> None: ...

    def start(self) -> None: ...

    async def close(self) -> None: ...


class TokenState:
    """Records by id plus usage not yet persisted (`_pending`: id → [requests, input, output])."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, TokenRecord] = {}
        self._pending: dict[str, list[int]] = {}

    # ---- reads

    def get(self, token_id: str) -> TokenRecord | None:
        return self._records.get(token_id)

    def records(self) -> list[TokenRecord]:
        with self._lock:
            return list(self._records.values())

    # ---- usage (synchronous, atomic)

    def consume(self, token_id: str, decide: Decide) -> tuple[TokenRecord | None, Denial | None]:
        """Check `decide(record)` and count one request if admitted, atomically.

        A token without a record is admitted and not counted (the seed's behaviour).
        """
        with self._lock:
            record = self._records.get(token_id)
            if record is None:
                return None, None
            denial = decide(record)
            if denial is not None:
                return record, denial
            record = record.with_usage(record.used_requests + 1, record.used_input_tokens,
                                       record.used_output_tokens)
            self._records[token_id] = record
            self._add_pending(token_id, 1, 0, 0)
        self._usage_changed()
        return record, None

    def add_tokens(self, token_id: str, input_tokens: int, output_tokens: int) -> TokenRecord | None:
        input_tokens, output_tokens = max(0, input_tokens), max(0, output_tokens)
        with self._lock:
            record = self._records.get(token_id)
            if record is None or (input_tokens == 0 and output_tokens == 0):
                return record
            record = record.with_usage(record.used_requests, record.used_input_tokens + input_tokens,
                                       record.used_output_tokens + output_tokens)
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
            record = journal.apply(entry, self._records.get(_entry_id(entry)))
            if record is not None:
                self._records[record.id] = record
            return record

    async def put(self, record: TokenRecord) -> None:
        self._apply(journal.Put(record))

    async def revoke(self, token_id: str) -> TokenRecord | None:
        return self._apply(journal.Revoke(token_id))

    async def expire(self, token_id: str, expires_at: int) -> TokenRecord | None:
        return self._apply(journal.Expire(token_id, expires_at))

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
    return record.with_usage(record.used_requests + delta[0], record.used_input_tokens + delta[1],
                             record.used_output_tokens + delta[2])


def _entry_id(entry: journal.Entry) -> str:
    return entry.record.id if isinstance(entry, journal.Put) else entry.id


MemoryTokenStore = TokenState
