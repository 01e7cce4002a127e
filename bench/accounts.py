"""Benchmark of the account pool's per-request work (run with `make bench` or directly).

Measures CPU microseconds per request for `choose` + `report` + `release` with 3 and 20 accounts
under every strategy (session affinity on), for classifying a subscription response that carries the
`anthropic-ratelimit-unified-*` headers, and per stream for the stream-head check the forwarding
loop runs on every SSE answer. Targets: < 40 µs per request (pool), < 15 µs (classification),
< 60 µs per stream (head). Best of 5 rounds of CPU time, so a busy shared machine does not count.
Prints one line per figure; exits non-zero when a target is missed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from dsl.model import RoutingStrategy
from gateway.accounts.classify import classify_response
from gateway.accounts.outcome import UpstreamOutcome
from gateway.accounts.pool import AccountPool, PooledAccount
from gateway.accounts.state import AccountState
from gateway.accounts.streamhead import StreamHead
from gateway.credentials.apikey import ApiKeyCredential

POOL_TARGET_US = 40.0
CLASSIFY_TARGET_US = 15.0
HEAD_TARGET_US = 60.0
U = "anthropic-ratelimit-unified-"
HEADERS = {
    "content-type": "text/event-stream",
    "request-id": "req_0123456789",
    "anthropic-organization-id": "org",
    f"{U}status": "allowed",
    f"{U}5h-status": "allowed",
    f"{U}5h-reset": "1800000000",
    f"{U}5h-utilization": "0.42",
    f"{U}7d-status": "allowed",
    f"{U}7d-reset": "1800300000",
    f"{U}7d-utilization": "0.13",
    f"{U}representative-claim": "five_hour",
    f"{U}fallback-percentage": "0.5",
}
STREAM_HEAD = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","type":"message",'
    b'"role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":'
    b'{"input_tokens":2048,"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":'
    b'{"type":"text","text":""}}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
    b'{"type":"text_delta","text":"Hello"}}\n\n'
)


def cpu_us(work: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(n):
            work()
        best = min(best, time.process_time() - start)
    return best / n * 1e6


def pool_work(accounts: int, strategy: RoutingStrategy) -> Callable[[], None]:
    names = [f"acct{i}" for i in range(accounts)]
    pool = AccountPool(
        [PooledAccount(n, ApiKeyCredential(n, "k")) for n in names],
        [AccountState(n) for n in names],
        strategy,
    )
    outcome = UpstreamOutcome(200, HEADERS)
    counter = iter(range(10**9))

    def one() -> None:
        account = pool.choose("claude-sonnet-4-5", f"session-{next(counter) % 64}", None, frozenset())
        pool.report(account.name, outcome)
        pool.release(account.name)

    return one


def head_work() -> None:
    head = StreamHead()
    head.feed(STREAM_HEAD[:180])
    head.feed(STREAM_HEAD[180:])


def main() -> int:
    failed = False
    for accounts in (3, 20):
        for strategy in RoutingStrategy:
            us = cpu_us(pool_work(accounts, strategy), 4000)
            failed |= us > POOL_TARGET_US
            print(
                f"accounts pool  {accounts:2d} accounts {strategy:12s} {us:6.1f} us/request "
                f"(target < {POOL_TARGET_US:.0f})"
            )
    us = cpu_us(lambda: classify_response(200, HEADERS, 1_800_000_000.0), 20000)
    failed |= us > CLASSIFY_TARGET_US
    print(f"accounts classify unified headers {us:6.1f} us/response (target < {CLASSIFY_TARGET_US:.0f})")
    us = cpu_us(head_work, 20000)
    failed |= us > HEAD_TARGET_US
    print(f"accounts stream head            {us:6.1f} us/stream (target < {HEAD_TARGET_US:.0f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
