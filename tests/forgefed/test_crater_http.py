"""`UPSTREAM_PROVIDER=crater` end to end: the `openai` SDK → the gateway → a ForgeFed tracker stand-in
that verifies our signatures (with an independent implementation), accepts the Offer and resolves
the ticket after a few polls. Waits run on a virtual clock, so no test sleeps through an interval."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from dsl.model import CraterConfig, UpstreamProvider
from gateway.forgefed.surface import FEDERATION
from tests.forgefed.conftest import federated_gateway
from tests.forgefed.standins import Tracker, TrackerScript
from tests.support.gateway import RunningGateway

MESSAGES: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 6*7?"},
]


@dataclass
class VirtualClock:
    """Monotonic time moves only when the code under test sleeps; wall time is real (signature Dates)."""

    now: float = 1000.0
    sleeps: int = 0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        await asyncio.sleep(0)


@asynccontextmanager
async def crater(
    tmp_path: Path, script: TrackerScript | None = None, virtual: bool = True, **crater: Any
) -> AsyncIterator[tuple[RunningGateway, Tracker, openai.AsyncOpenAI, VirtualClock]]:
    async with Tracker(script) as tracker:
        base = dataclasses.replace(CraterConfig(inbox=tracker.inbox), **crater)
        async with federated_gateway(tmp_path, provider=UpstreamProvider.CRATER, crater=base) as gw:
            clock = VirtualClock()
            if virtual:
                gw.app[FEDERATION].remote.clock = clock
            key = await gw.issue_key(label="crater", max_tokens=20)
            async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
                yield gw, tracker, sdk, clock


async def test_a_chat_completion_is_a_signed_offer_polled_until_resolved(tmp_path: Path) -> None:
    async with crater(tmp_path, target="https://tracker.example/projects/demo") as (gw, tracker, sdk, clock):
        answer = await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES)
        assert answer.choices[0].message.content == "The answer is 42."
        assert answer.choices[0].finish_reason == "stop" and answer.model == "crater-forgefed"
        assert answer.usage is not None and (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (
            11,
            7,
        )

        assert tracker.failures == []
        actor = f"{gw.url}/actor/code"
        assert tracker.signers == [actor] * 4  # the Offer and three polls, each verified
        assert tracker.polls == 3 and clock.sleeps == 2 and clock.now == 1002.0  # 1000 ms between polls
        (offer,) = tracker.offers
        assert (
            offer["type"] == "Offer"
            and offer["actor"] == actor
            and offer["id"].startswith(f"{actor}/activities/offer-")
        )
        assert offer["target"] == "https://tracker.example/projects/demo" and offer["to"] == [offer["target"]]
        ticket = offer["object"]
        assert "id" not in ticket and ticket["type"] == "Ticket" and ticket["summary"] == "What is 6*7?"
        assert (
            ticket["content"] == "system: Be brief.\nuser: What is 6*7?"
            and ticket["model"] == "crater-forgefed"
        )

        models = await sdk.models.list()
        assert [m.id for m in models.data] == ["crater-forgefed"]
        with pytest.raises(openai.BadRequestError, match="crater serves /v1/chat/completions only"):
            await sdk.responses.create(model="crater-forgefed", input="hi")


async def test_streamed_by_body_flag_and_by_query(tmp_path: Path) -> None:
    async with crater(tmp_path) as (gw, _tracker, sdk, _clock):
        stream = await sdk.chat.completions.create(
            model="crater-forgefed", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "The answer is 42."
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 18

        key = sdk.api_key
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{gw.url}/v1/chat/completions?stream=true",
                json={"model": "crater-forgefed", "messages": MESSAGES},
                headers={"authorization": f"Bearer {key}"},
            ) as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            raw = (await response.read()).decode()
        data = [line[6:] for line in raw.splitlines() if line.startswith("data: ")]
        assert (
            data[-1] == "[DONE]"
            and json.loads(data[1])["choices"][0]["delta"]["content"] == "The answer is 42."
        )
        assert ": waiting" in raw  # keep-alive comments while the task was polled


async def test_a_task_that_never_resolves_is_a_504_after_the_poll_timeout(tmp_path: Path) -> None:
    script = TrackerScript(resolve_after=10**9)
    started = time.process_time()
    async with crater(tmp_path, script, poll_timeout_secs=30) as (_gw, tracker, sdk, clock):
        with pytest.raises(openai.APIStatusError) as raised:
            await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES)
        assert raised.value.status_code == 504
        error = raised.value.body
        assert isinstance(error, dict) and error["type"] == "forgefed_task_error"
        assert error["message"] == f"task {tracker.actor_id}/issues/1 did not resolve within 30 seconds"
        assert tracker.polls == 31 and clock.now == 1030.0  # virtual time: no real 30-second wait

        stream = await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIError, match="did not resolve within 30 seconds"):
            _ = [chunk async for chunk in stream]
    assert time.process_time() - started < 20


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("reject", "ForgeFed inbox rejected the Offer"),
        ("error", "ForgeFed delivery failed with HTTP 500: tracker exploded"),
    ],
)
async def test_rejected_or_failed_offers_are_openai_shaped_502s(
    tmp_path: Path, mode: str, message: str
) -> None:
    async with crater(tmp_path, TrackerScript(mode=mode)) as (_gw, _tracker, sdk, _clock):
        with pytest.raises(openai.APIStatusError) as raised:
            await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES)
        assert raised.value.status_code == 502
        assert raised.value.body == {"message": message, "type": "forgefed_task_error", "code": "bad_gateway"}
        with pytest.raises(openai.BadRequestError, match="model is required"):
            await sdk.chat.completions.create(model="", messages=MESSAGES)


async def test_an_accept_delivered_later_to_our_inbox_is_taken(tmp_path: Path) -> None:
    # A spec-following tracker answers the Offer 202 and delivers a signed Accept to our inbox.
    async with crater(
        tmp_path, TrackerScript(mode="async"), virtual=False, poll_interval_ms=20, poll_timeout_secs=5
    ) as (
        _gw,
        tracker,
        sdk,
        _clock,
    ):
        answer = await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES)
        assert answer.choices[0].message.content == "The answer is 42."
        assert tracker.failures == [] and tracker.polls == 3


async def test_usage_counts_against_the_keys_token_budget(tmp_path: Path) -> None:
    async with crater(tmp_path) as (_gw, tracker, sdk, _clock):
        await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES)  # 18 of 20 tokens
        await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES)  # now 36: over
        with pytest.raises(openai.RateLimitError):
            await sdk.chat.completions.create(model="crater-forgefed", messages=MESSAGES)
        assert len(tracker.offers) == 2  # the refused call never reached the tracker
