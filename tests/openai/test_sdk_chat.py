"""The official `openai` SDK → gateway → Anthropic stand-in: chat completions, streamed and not."""

from __future__ import annotations

import json

import openai
import pytest

from tests.openai.conftest import ACCOUNT_KEY
from tests.openai.upstream import JSON_ANSWER, PARIS_CALL, SIGNED_THINKING, ScriptedAnthropic, Weather
from tests.support.fake_anthropic import Step
from tests.support.gateway import RunningGateway

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


async def test_chat_completion_is_translated_both_ways(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    completion = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=50,
        stop=["END"],
    )
    assert completion.choices[0].message.content == "Hello from the fake upstream"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 12
    assert completion.usage.completion_tokens == 7
    seen = upstream.messages_requests()[-1]
    body = seen.json()
    assert body["model"] == "claude-sonnet-4-5-20250929"
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["max_tokens"] == 50 and body["stop_sequences"] == ["END"]
    assert seen.credential() == ACCOUNT_KEY  # the la_sk_ key never reaches the upstream


async def test_streamed_chat_completion_with_usage(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage is not None:
            usage = chunk.usage
    assert text == "Hello from the fake upstream"
    assert finish == "stop"
    assert usage is not None and usage.prompt_tokens == 12 and usage.completion_tokens == 7


def tool_calls_reply(upstream: ScriptedAnthropic) -> None:
    upstream.reply(
        [
            {"type": "text", "text": "Checking both cities."},
            {"type": "tool_use", "id": "toolu_01Paris", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_02Tokyo", "name": "get_weather", "input": {"city": "Tokyo"}},
        ],
        "tool_use",
    ).reply([{"type": "text", "text": "Paris is 18C and Tokyo is 25C."}])


def assert_tool_results_reached_upstream(upstream: ScriptedAnthropic) -> None:
    second = upstream.messages_requests()[-1].json()
    assistant, results = second["messages"][1], second["messages"][2]
    assert [b["id"] for b in assistant["content"] if b["type"] == "tool_use"] == [
        "toolu_01Paris",
        "toolu_02Tokyo",
    ]
    assert [(b["tool_use_id"], b["content"]) for b in results["content"]] == [
        ("toolu_01Paris", "18C"),
        ("toolu_02Tokyo", "25C"),
    ]
    assert second["tools"][0]["name"] == "get_weather"


async def test_tool_round_trip(client: openai.AsyncOpenAI, upstream: ScriptedAnthropic) -> None:
    tool_calls_reply(upstream)
    messages: list = [{"role": "user", "content": "Weather in Paris and Tokyo?"}]
    first = await client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("toolu_01Paris", "get_weather", {"city": "Paris"}),
        ("toolu_02Tokyo", "get_weather", {"city": "Tokyo"}),
    ]
    messages.append(choice.message.model_dump(exclude_none=True))
    answers = {"Paris": "18C", "Tokyo": "25C"}
    for call in calls:
        city = json.loads(call.function.arguments)["city"]
        messages.append({"role": "tool", "tool_call_id": call.id, "content": answers[city]})
    final = await client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER])
    assert final.choices[0].message.content == "Paris is 18C and Tokyo is 25C."
    assert_tool_results_reached_upstream(upstream)


async def test_streamed_tool_round_trip(client: openai.AsyncOpenAI, upstream: ScriptedAnthropic) -> None:
    tool_calls_reply(upstream)
    messages: list = [{"role": "user", "content": "Weather in Paris and Tokyo?"}]
    async with client.chat.completions.stream(model="gpt-4o", messages=messages, tools=[WEATHER]) as stream:
        first = await stream.get_final_completion()
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking both cities."
    calls = choice.message.tool_calls or []
    assert [(c.id, json.loads(c.function.arguments)) for c in calls] == [
        ("toolu_01Paris", {"city": "Paris"}),
        ("toolu_02Tokyo", {"city": "Tokyo"}),
    ]
    messages.append(
        {
            "role": "assistant",
            "content": choice.message.content,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in calls
            ],
        }
    )
    messages += [
        {"role": "tool", "tool_call_id": "toolu_01Paris", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_02Tokyo", "content": "25C"},
    ]
    async with client.chat.completions.stream(model="gpt-4o", messages=messages, tools=[WEATHER]) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "Paris is 18C and Tokyo is 25C."
    assert_tool_results_reached_upstream(upstream)


async def test_thinking_is_returned_as_reasoning_content(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    upstream.reply([{"type": "thinking", "thinking": "2+2 is 4."}, {"type": "text", "text": "4"}])
    completion = await client.chat.completions.create(
        model="o3", messages=[{"role": "user", "content": "2+2?"}], reasoning_effort="low"
    )
    message = completion.choices[0].message
    assert message.content == "4"
    assert message.model_extra is not None and message.model_extra["reasoning_content"] == "2+2 is 4."
    body = upstream.messages_requests()[-1].json()
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["model"] == "claude-opus-4-7" and body["max_tokens"] > 2048


async def test_unsupported_parameter_is_an_openai_shaped_400(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}], n=3)
    assert caught.value.status_code == 400
    assert "n > 1 is not supported" in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert upstream.messages_requests() == []


async def test_bad_key_is_an_openai_shaped_401(gateway: RunningGateway) -> None:
    async with openai.AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="la_sk_forged", max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError) as caught:
            await sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"  # type: ignore[index]


@pytest.mark.parametrize("stream", [False, True])
async def test_upstream_rate_limit_reaches_the_client_in_openai_shape(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic, stream: bool
) -> None:
    upstream.then(Step.rate_limited(7), Step.rate_limited(7), Step.rate_limited(7))
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=stream
        )
    assert caught.value.status_code == 429
    assert caught.value.body["type"] == "rate_limit_error"  # type: ignore[index]
    assert caught.value.response.headers.get("retry-after") == "7"


async def test_error_inside_the_upstream_stream_surfaces_as_an_api_error(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    upstream.then(Step.stream_error(after_events=4))
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    )
    text = ""
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    assert "Overloaded" in caught.value.message
    assert text == "Hello"  # what arrived before the error, and no fake "stop"


async def test_stream_cut_by_the_upstream_is_not_reported_as_complete(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    upstream.then(Step.cut_stream(after_events=4))
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    )
    finishes = []
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            finishes += [c.finish_reason for c in chunk.choices if c.finish_reason]
    assert finishes == []
    assert caught.value.message == "Upstream stream interrupted"


async def test_thinking_survives_a_tool_round_trip(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    thinking, call = SIGNED_THINKING, PARIS_CALL
    upstream.reply([thinking, call], "tool_use").reply([{"type": "text", "text": "18C."}])
    messages: list = [{"role": "user", "content": "Weather in Paris?"}]
    first = await client.chat.completions.create(
        model="o3", messages=messages, tools=[WEATHER], reasoning_effort="low"
    )
    messages.append(first.choices[0].message.model_dump(exclude_none=True))  # how SDK users keep history
    messages.append({"role": "tool", "tool_call_id": "toolu_01Paris", "content": "18C"})
    final = await client.chat.completions.create(
        model="o3", messages=messages, tools=[WEATHER], reasoning_effort="low"
    )
    assert final.choices[0].message.content == "18C."
    second = upstream.messages_requests()[-1].json()
    assert second["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert second["messages"][1]["content"] == [thinking, call]


async def test_structured_output_parse_with_a_pydantic_model(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    answer = JSON_ANSWER
    upstream.reply([answer], "tool_use").reply([answer], "tool_use")
    messages: list = [{"role": "user", "content": "Weather in Paris?"}]
    parsed = await client.chat.completions.parse(model="gpt-4o", messages=messages, response_format=Weather)
    assert parsed.choices[0].message.parsed == Weather(city="Paris", temp_c=18)
    assert parsed.choices[0].finish_reason == "stop"
    sent = upstream.messages_requests()[-1].json()
    assert sent["tool_choice"] == {"type": "tool", "name": "json_response"}
    assert sent["tools"][0]["input_schema"]["required"] == ["city", "temp_c"]
    async with client.chat.completions.stream(
        model="gpt-4o", messages=messages, response_format=Weather
    ) as stream:
        streamed = await stream.get_final_completion()
    assert streamed.choices[0].message.parsed == Weather(city="Paris", temp_c=18)


async def test_thinking_survives_a_streamed_tool_round_trip(
    client: openai.AsyncOpenAI, upstream: ScriptedAnthropic
) -> None:
    thinking, call = SIGNED_THINKING, PARIS_CALL
    upstream.reply([thinking, call], "tool_use").reply([{"type": "text", "text": "18C."}])
    options: dict = {"model": "o3", "tools": [WEATHER], "reasoning_effort": "low"}
    messages: list = [{"role": "user", "content": "Weather in Paris?"}]
    async with client.chat.completions.stream(messages=messages, **options) as stream:
        first = await stream.get_final_completion()
    messages.append(first.choices[0].message.model_dump(exclude_none=True, exclude={"parsed"}))
    messages.append({"role": "tool", "tool_call_id": "toolu_01Paris", "content": "18C"})
    async with client.chat.completions.stream(messages=messages, **options) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "18C."
    second = upstream.messages_requests()[-1].json()
    assert second["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert second["messages"][1]["content"] == [thinking, call]
