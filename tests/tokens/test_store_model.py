"""Model-based test of the file store: random operation sequences, restarts, crashes and torn writes.

After every restart the reloaded records must equal a plain-dict model of what was acknowledged:
every issue/revoke/expire that returned, and all usage that was flushed before a crash.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.model import StoragePolicy
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.records import TokenRecord
from gateway.tokens.service import TokenService

from .helpers import SECRET, FakeClock, bearer

ops = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.integers(0, 3)),
        st.tuples(st.just("revoke"), st.integers(0, 20)),
        st.tuples(st.just("expire"), st.integers(0, 20)),
        st.tuples(st.just("use"), st.integers(0, 20), st.integers(1, 5)),
        st.tuples(st.just("tokens"), st.integers(0, 20), st.integers(0, 500)),
        st.tuples(st.sampled_from(["restart", "crash", "torn", "compact"])),
    ),
    max_size=30,
)


@dataclass
class Model:
    records: dict[str, TokenRecord] = field(default_factory=dict)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (id, token) in issue order


async def open_store(data_dir: Path, policy: StoragePolicy, clock: FakeClock) -> TokenService:
    store = FileTokenStore(data_dir, policy, compact_bytes=1_500, commit_interval=3600, poll_interval=3600)
    await store.open()
    return TokenService(store, SECRET, clock=clock)


def crash(service: TokenService) -> None:
    """Drop the store like `kill -9` would: no final sync, no compaction (after an explicit flush)."""
    store = service.store
    assert isinstance(store, FileTokenStore)
    store._closing = True  # stop the background loop without its final sync
    assert store._wake is not None and store._executor is not None
    store._wake.set()
    store._urgent.set()
    store._close_files()
    store._executor.shutdown(wait=True)
    store._executor = None


async def run(sequence: list[tuple], data_dir: Path, policy: StoragePolicy) -> None:  # type: ignore[type-arg]
    clock = FakeClock()
    model = Model()
    service = await open_store(data_dir, policy, clock)
    for op in sequence:
        kind = op[0]
        clock.now += 1
        if kind == "issue":
            issued = await service.issue(label=f"k{len(model.keys)} ✓", max_requests=10 + int(op[1]))
            model.records[issued.record.id] = issued.record
            model.keys.append((issued.record.id, issued.token))
        elif kind in ("revoke", "expire", "use", "tokens") and model.keys:
            token_id, token = model.keys[int(op[1]) % len(model.keys)]
            current = model.records[token_id]
            if kind == "revoke":
                await service.revoke(token_id)
                model.records[token_id] = TokenRecord(**{**current.__dict__, "revoked": True})
            elif kind == "expire":
                await service.expire(token_id)
                expires_at = min(current.expires_at, int(clock.now))
                model.records[token_id] = TokenRecord(**{**current.__dict__, "expires_at": expires_at})
            elif kind == "use":
                for _ in range(int(op[2])):
                    try:
                        await service.authorize(bearer(token))
                    except Exception:  # refused (revoked, expired, spent): counts nothing
                        continue
                    current = model.records[token_id]
                    model.records[token_id] = current.with_usage(
                        current.used_requests + 1, current.used_input_tokens, current.used_output_tokens
                    )
            else:
                await service.record_usage(token_id, int(op[2]), 1)
                model.records[token_id] = current.with_usage(
                    current.used_requests,
                    current.used_input_tokens + int(op[2]),
                    current.used_output_tokens + 1,
                )
        elif kind == "compact":
            await service.store._io(service.store._sync, True, True)
        elif kind in ("restart", "crash", "torn"):
            if kind == "restart":
                await service.close()
            else:
                await service.store.flush()
                crash(service)
                if kind == "torn":  # a later writer died half-way through a line
                    victim = model.keys[0][0].encode() if model.keys else b"x"
                    with open(data_dir / "tokens.journal", "ab") as journal:
                        journal.write(b'{"op":"revoke","id":"' + victim)
            service = await open_store(data_dir, policy, clock)
            assert {r.id: r for r in service.store.records()} == model.records
    await service.close()
    reopened = await open_store(data_dir, policy, clock)
    assert {r.id: r for r in reopened.store.records()} == model.records
    await reopened.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops, st.sampled_from([StoragePolicy.TEXT, StoragePolicy.BINARY, StoragePolicy.BOTH]))
def test_reloaded_state_always_matches_what_was_acknowledged(
    sequence: list[tuple[object, ...]], policy: StoragePolicy
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(sequence, Path(tmp) / "data", policy))
        assert not any(name.endswith(".tmp") for name in os.listdir(Path(tmp) / "data"))
