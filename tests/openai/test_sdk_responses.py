"""The official `openai` SDK's Responses API and model list through the gateway."""

from __future__ import annotations

import json
from pathlib import Path

import openai

from dsl.config.loader import load_config
from tests.openai.conftest import ACCOUNT_KEY, config_for
from tests.openai.upstream import JSON_ANSWER, PARIS_CALL, SIGNED_THINKING, ScriptedAnthropic, Weather
from tests.support.fake_anthropic import Step
from tests.support.gateway import running_gateway

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def test_responses_create(client: openai.AsyncOpenAI, upstream: ScriptedAnthropic) -> None:
    response = await client.responses.create(model="gpt-4o", instructions="Be brief.", input="Hi")
    assert response.output_text == "Hello from the fake upstream"
    assert response.status == "completed"
    assert (
        response.usage is not None and response.usage.input_tokens == 12 and response.usage.output_tokens == 7
    )
    body = upstream.messages_requests()[-1].json()
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


async def test_responses_stream_event_sequence(client: openai.AsyncOpenAI) -> None:
    async with client.responses.stream(model="gpt-4o", input="Hi") as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Hello from the fake upstream" and len(deltas) > 1
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == "Hello from the fake upstream"


async def test_responses_function_call_round_trip_streamed_and_not(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    call_reply = [
        {"type": "tool_use", "id": "toolu_01Paris", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    upstream.reply(call_reply, "tool_use").reply(call_reply, "tool_use")
    upstream.reply([{"type": "text", "text": "It is 18C in Paris."}])
    first = await client.responses.create(model="gpt-4o", input="Weather in Paris?", tools=[WEATHER])
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("toolu_01Paris", "get_weather", {"city": "Paris"})
    ]
    async with client.responses.stream(model="gpt-4o", input="Weather in Paris?", tools=[WEATHER]) as stream:
        events = [event async for event in stream]
        streamed = await stream.get_final_response()
    assert [e.type for e in events if "function_call_arguments" in e.type][
        -1
    ] == "response.function_call_arguments.done"
    streamed_calls = [item for item in streamed.output if item.type == "function_call"]
    assert [(c.call_id, json.loads(c.arguments)) for c in streamed_calls] == [
        ("toolu_01Paris", {"city": "Paris"})
    ]

    follow_up = [
        {"role": "user", "content": "Weather in Paris?"},
        *[c.model_dump(exclude_none=True) for c in streamed_calls],
        {"type": "function_call_output", "call_id": "toolu_01Paris", "output": "18C"},
    ]
    final = await client.responses.create(model="gpt-4o", input=follow_up, tools=[WEATHER])  # type: ignore[arg-type]
    assert final.output_text == "It is 18C in Paris."
    last = upstream.messages_requests()[-1].json()
    assert last["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_01Paris", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert last["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01Paris", "content": "18C"}
    ]


async def test_responses_refuses_server_side_state(client: openai.AsyncOpenAI) -> None:
    try:
        await client.responses.create(model="gpt-4o", input="x", previous_response_id="resp_123")
    except openai.BadRequestError as exc:
        assert "previous_response_id is not supported" in exc.message
    else:
        raise AssertionError("previous_response_id must be refused")


ALIASES_LINO = """\
model-aliases:
  fast claude-haiku-4-5-20251001
  gpt-4o claude-opus-4-7
  "*" claude-haiku-4-5-20251001
"""


async def test_models_list_and_aliases_from_the_config_file(
    upstream: ScriptedAnthropic, tmp_path: Path
) -> None:
    aliases = load_config(ALIASES_LINO, "router.lino").model_aliases
    config = config_for(upstream.url, tmp_path, model_aliases=aliases)
    async with running_gateway(config, {"ACCOUNT_KEY": ACCOUNT_KEY}) as gw:
        key = await gw.issue_key(label="aliases")
        async with openai.AsyncOpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0) as sdk:
            ids = [m.id async for m in sdk.models.list()]
            for model in ("fast", "GPT-4o", "gpt-4o-mini", "o3", "some-unknown-model", "claude-sonnet-4-5"):
                await sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert {
        "claude-opus-4-7",
        "claude-sonnet-4-5-20250929",
        "claude-haiku-4-5-20251001",
        "fast",
        "gpt-4o",
    } <= set(ids)
    assert "*" not in ids
    models = [r.json()["model"] for r in upstream.messages_requests()]
    assert models == [
        "claude-haiku-4-5-20251001",  # a new alias
        "claude-opus-4-7",  # the seed's gpt-4o → Sonnet, overridden (case-insensitive)
        "claude-haiku-4-5-20251001",  # the seed's default kept
        "claude-opus-4-7",  # the seed's default kept
        "claude-haiku-4-5-20251001",  # the catch-all, overridden by "*"
        "claude-sonnet-4-5",  # Claude ids pass through
    ]


async def test_models_retrieve(client: openai.AsyncOpenAI) -> None:
    model = await client.models.retrieve("claude-opus-4-7")
    assert (model.id, model.owned_by) == ("claude-opus-4-7", "anthropic")
    try:
        await client.models.retrieve("no-such-model")
    except openai.NotFoundError as exc:
        assert exc.body["type"] == "invalid_request_error"  # type: ignore[index]
    else:
        raise AssertionError("an unknown model must be a 404")


async def test_encrypted_reasoning_carries_thinking_through_a_tool_loop(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    thinking, call = SIGNED_THINKING, PARIS_CALL
    upstream.reply([thinking, call], "tool_use").reply([{"type": "text", "text": "18C."}])
    options: dict = {
        "model": "o3",
        "tools": [WEATHER],
        "reasoning": {"effort": "low"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }
    async with client.responses.stream(input="Weather in Paris?", **options) as stream:
        first = await stream.get_final_response()
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        *[i.model_dump(exclude_none=True) for i in first.output],
    ]
    history.append({"type": "function_call_output", "call_id": "toolu_01Paris", "output": "18C"})
    final = await client.responses.create(input=history, **options)
    assert final.output_text == "18C."
    second = upstream.messages_requests()[-1].json()
    assert second["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert second["messages"][1]["content"] == [thinking, call]


async def test_responses_parse_with_a_text_format(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    answer = JSON_ANSWER
    upstream.reply([answer], "tool_use")
    parsed = await client.responses.parse(model="gpt-4o", input="Weather in Paris?", text_format=Weather)
    assert parsed.output_parsed == Weather(city="Paris", temp_c=18)


async def test_an_error_inside_the_upstream_stream_fails_the_response(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    upstream.then(Step.stream_error(after_events=4))
    async with client.responses.stream(model="gpt-4o", input="x") as stream:
        events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[-2:] == ["error", "response.failed"] and "response.completed" not in kinds
    error, failed = events[-2], events[-1]
    assert error.message == "Overloaded" and error.code == "overloaded_error"  # type: ignore[union-attr]
    response = failed.response  # type: ignore[union-attr]
    assert response.status == "failed" and response.error is not None
    assert response.error.message == "Overloaded"
    assert response.output[0].content[0].text == "Hello"  # type: ignore[union-attr]  # what arrived is kept
