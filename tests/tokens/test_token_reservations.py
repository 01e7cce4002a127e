"""Token budgets hold under concurrency: admission reserves the request's max_tokens until it ends.

Before: 100 concurrent requests on a 20-token budget were all admitted (usage is only known after
the answer), spending 1,800 tokens. Now a request is admitted beside in-flight ones only if what
they hold plus its own max_tokens fits; alone, the seed's rule (used < budget) still applies.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import anthropic
from anthropic.types import MessageParam

from gateway.tokens.records import Denial, TokenRecord
from gateway.tokens.state import MemoryTokenStore
from tests.support.fake_anthropic import FakeAnthropic, Step
from tests.support.gateway import gateway_config, running_gateway

NOW = 1_781_000_000.0
MODEL = "claude-test-1"
HELLO: list[MessageParam] = [{"role": "user", "content": "Hi"}]


def test_reservations_decide_admission_beside_in_flight_requests() -> None:
    store = MemoryTokenStore()
    store._records["k"] = TokenRecord(id="k", expires_at=int(NOW) + 3600, max_tokens=20)
    first = store.consume("k", int(NOW) + 3600, NOW, reserve=16)
    assert first.denial is None  # alone: admitted although 16 of 20 is most of the budget
    second = store.consume("k", int(NOW) + 3600, NOW, reserve=16)
    assert second.denial is Denial.TOKEN_BUDGET  # 16 held + 16 > 20
    assert store.consume("k", int(NOW) + 3600, NOW, reserve=4).denial is None  # 16 + 4 fits
    store.release("k", 16)
    store.release("k", 4)
    assert store.consume("k", int(NOW) + 3600, NOW, reserve=16).denial is None  # all given back
    refused = store.get("k")
    assert refused is not None and refused.used_requests == 3  # the refused one counted nowhere


async def test_100_concurrent_requests_on_a_20_token_budget(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    fake.then(Step.slow_first_byte(0.3))  # the first admitted one still runs when the rest arrive
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key(max_tokens=20)
        async with anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0) as client:
            results = await asyncio.gather(
                *(client.messages.create(model=MODEL, max_tokens=16, messages=HELLO) for _ in range(100)),
                return_exceptions=True,
            )
        admitted = [r for r in results if isinstance(r, anthropic.types.Message)]
        refused = [r for r in results if isinstance(r, anthropic.RateLimitError)]
        assert len(admitted) + len(refused) == 100
        assert 1 <= len(admitted) <= 2, len(admitted)  # the seed's rule may admit one more after it
        tokens = gw.tokens
        record = tokens.get(next(iter(r.id for r in tokens.list())))
        assert record is not None
        assert record.used_tokens <= 2 * 19  # the fake reports 12 input + 7 output per answer
        assert record.used_requests == len(admitted)
        # Everything held was given back: once the budget allows, requests are admitted again.
        assert tokens.store._reserved == {}  # type: ignore[attr-defined]  # (the in-memory holds)
