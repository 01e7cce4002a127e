"""A process that hammers a file token store until it is killed (`python -m tests.tokens.crash_child DIR`).

It prints one line per completed operation, flushed before the next starts:
`issued <id>` after `issue` returned, `revoked <id>` after `revoke` returned, and
`used <id> <count> <monotonic>` after counting requests (CLOCK_MONOTONIC is system-wide, so the
parent can compare it with the moment it sent SIGKILL).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from dsl.model import StoragePolicy
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.service import TokenService

SECRET = "crash-test-secret"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def hammer(data_dir: Path) -> None:
    store = FileTokenStore(data_dir, StoragePolicy.BOTH, compact_bytes=64 << 10)
    await store.open()
    service = TokenService(store, SECRET)
    busy = await service.issue(label="busy")
    say(f"issued {busy.record.id}")
    headers = {"x-api-key": busy.token}
    previous: str | None = None
    round_number = 0
    while True:  # bounded by the parent's SIGKILL (and its timeout)
        round_number += 1
        issued = await service.issue(label=f"round {round_number} ✓")
        say(f"issued {issued.record.id}")
        if previous is not None and round_number % 3 == 0:
            await service.revoke(previous)
            say(f"revoked {previous}")
        previous = issued.record.id
        for _ in range(20):
            await service.authorize(headers)
            await asyncio.sleep(0)  # like a server between requests: let the group commit run
        say(f"used {busy.record.id} {service.get(busy.record.id).used_requests} {time.monotonic()}")  # type: ignore[union-attr]


if __name__ == "__main__":
    asyncio.run(hammer(Path(sys.argv[1])))
