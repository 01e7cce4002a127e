"""Benchmark of the token path (run with `make bench` or directly).

Measures, on a temp data dir with the default `both` policy:
* `authorize` CPU cost per request (signature cache hit, budget check + count), memory and file policy;
* what usage costs on disk: journal bytes and fsync batches per 10,000 requests (no snapshot rewrite);
* `issue` latency (it returns after its journal line is fsynced);
* opening a data dir with 10,000 tokens (load + compaction into both seed formats).
Targets: authorize < 25 µs, 0 snapshot rewrites for usage, open(10k) < 2 s. Exits non-zero on a miss.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dsl.model import StoragePolicy
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.service import TokenService
from gateway.tokens.state import MemoryTokenStore, TokenStore

SECRET = "bench-secret-0123456789abcdef0123456789"
AUTHORIZE_TARGET_US = 25.0
OPEN_TARGET_S = 2.0


async def authorize_cost(store: TokenStore, requests: int = 50_000) -> float:
    await store.open()
    service = TokenService(store, SECRET)
    issued = await service.issue(label="bench", max_requests=10 * requests)
    headers = {"authorization": f"Bearer {issued.token}"}
    started = time.process_time()  # CPU time: steadier than wall time on shared cores
    for index in range(requests):
        await service.authorize(headers)
        if index % 64 == 0:
            await asyncio.sleep(0)  # as a server would between requests
    elapsed = time.process_time() - started
    await service.close()
    return elapsed / requests * 1e6


async def usage_on_disk(data_dir: Path, requests: int = 10_000) -> tuple[int, int, bool]:
    store = FileTokenStore(data_dir, StoragePolicy.BOTH)
    await store.open()
    service = TokenService(store, SECRET)
    issued = await service.issue(label="usage")
    snapshot = (data_dir / "tokens.lino").stat().st_mtime_ns
    journal_before = (data_dir / "tokens.journal").stat().st_size
    headers = {"x-api-key": issued.token}
    for index in range(requests):
        await service.authorize(headers)
        if index % 100 == 0:
            await asyncio.sleep(0.002)  # spread over a few commit intervals, as real traffic would be
    await store.flush()
    journal = (data_dir / "tokens.journal").read_bytes()
    batches = journal.count(b'"op":"usage"')
    rewritten = (data_dir / "tokens.lino").stat().st_mtime_ns != snapshot
    await service.close()
    return len(journal) - journal_before, batches, rewritten


async def issue_latency(data_dir: Path, count: int = 200) -> float:
    store = FileTokenStore(data_dir, StoragePolicy.BOTH)
    await store.open()
    service = TokenService(store, SECRET)
    samples = []
    for index in range(count):
        started = time.perf_counter()
        await service.issue(label=f"t{index}")
        samples.append(time.perf_counter() - started)
    await service.close()
    return statistics.median(samples) * 1e3


async def open_large(data_dir: Path, tokens: int = 10_000) -> float:
    store = FileTokenStore(data_dir, StoragePolicy.BOTH)
    await store.open()
    service = TokenService(store, SECRET)
    await asyncio.gather(*(service.issue(label=f"user {index} ✓") for index in range(tokens)))
    await service.close()
    started = time.perf_counter()
    reopened = FileTokenStore(data_dir, StoragePolicy.BOTH)
    await reopened.open()
    elapsed = time.perf_counter() - started
    assert len(reopened.records()) == tokens
    await reopened.close()
    return elapsed


async def main() -> int:
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        memory_us = await authorize_cost(MemoryTokenStore())
        file_us = await authorize_cost(FileTokenStore(root / "a", StoragePolicy.BOTH))
        print(f"authorize (memory policy): {memory_us:.1f} µs CPU/request")
        print(f"authorize (both policy, journaled usage): {file_us:.1f} µs CPU/request")
        if file_us > AUTHORIZE_TARGET_US:
            failures.append("authorize")
        journal_bytes, batches, rewritten = await usage_on_disk(root / "b")
        print(
            f"10,000 requests of usage: {journal_bytes} journal bytes in {batches} fsync batches, "
            f"snapshot rewritten: {rewritten}"
        )
        if rewritten:
            failures.append("usage rewrote the snapshot")
        print(f"issue latency (fsynced) p50: {await issue_latency(root / 'c'):.2f} ms")
        opened = await open_large(root / "d")
        print(f"open a data dir of 10,000 tokens (load + compaction): {opened:.2f} s")
        if opened > OPEN_TARGET_S:
            failures.append("open")
    if failures:
        print("MISSED:", ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
