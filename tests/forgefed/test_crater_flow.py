"""Crater's pure rules: request → ticket → Offer, Accept → task URI, resolved task → answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import GatewayError
from gateway.forgefed import crater_flow as flow

ACTOR = "https://router.example/actor/code"
TARGET = "https://tracker.example/projects/demo"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": []}, "model is required"),
        ({"model": "  ", "messages": []}, "model is required"),
        ({"model": "m"}, "messages array is required"),
        ({"model": "m", "messages": "hi"}, "messages array is required"),
    ],
)
def test_requests_without_model_or_messages_are_400(body: dict[str, Any], message: str) -> None:
    with pytest.raises(flow.TaskError) as raised:
        flow.ticket_of(body, ACTOR)
    assert (raised.value.status, raised.value.message) == (400, message)


def test_messages_become_role_lines_and_the_first_user_line_is_the_title() -> None:
    body = {
        "model": "crater-forgefed",
        "messages": [
            {"role": "system", "content": "  Be brief.  "},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Fix the build\nit fails"}, {"content": "x"}],
            },
            {"role": "assistant", "content": ""},
            {"content": "no role"},
            "not a message",
        ],
    }
    ticket = flow.ticket_of(body, ACTOR)
    assert ticket.title == "Fix the build"
    assert ticket.content == "system: Be brief.\nuser: Fix the build\nit fails\nx\nuser: no role"
    assert ticket.attributed_to == ACTOR and ticket.assignee is None


def test_metadata_sets_title_assignee_and_attribution() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {
            "title": "T",
            "assignee": "https://a.example/bot",
            "attributed_to": "https://u.example/me",
        },
    }
    ticket = flow.ticket_of(body, ACTOR)
    assert (ticket.title, ticket.assignee, ticket.attributed_to) == (
        "T",
        body["metadata"]["assignee"],
        "https://u.example/me",
    )
    assert flow.ticket_of({"model": "m", "messages": []}, ACTOR).title == "OpenAI chat request"


def test_the_offer_is_a_forgefed_ticket_offer_without_a_ticket_id() -> None:
    ticket = flow.Ticket("m", "T", "user: hi", ACTOR, "https://a.example/bot")
    offer = flow.offer(ticket, ACTOR, TARGET, f"{ACTOR}/activities/offer-1")
    assert offer["@context"] == ["https://www.w3.org/ns/activitystreams", "https://forgefed.org/ns"]
    assert (offer["type"], offer["actor"], offer["to"], offer["target"]) == ("Offer", ACTOR, [TARGET], TARGET)
    assert offer["object"] == {
        "type": "Ticket",
        "context": TARGET,
        "attributedTo": ACTOR,
        "summary": "T",
        "content": "user: hi",
        "mediaType": "text/plain",
        "source": {"mediaType": "text/plain", "content": "user: hi"},
        "model": "m",
        "assignee": "https://a.example/bot",
    }


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"type": "Accept", "result": "https://t.example/issues/1"}, "https://t.example/issues/1"),
        ({"type": "Accept", "result": {"id": "https://t.example/issues/2"}}, "https://t.example/issues/2"),
        ({"type": "Reject"}, "ForgeFed inbox rejected the Offer"),
        ({"type": "Accept"}, "ForgeFed Accept is missing result"),
        ({"type": "Accept", "result": {"type": "Ticket"}}, "ForgeFed Accept result object missing id"),
        ({"type": "Accept", "result": 7}, "ForgeFed Accept result must be a URI or object with id"),
        ({"type": "Accept", "result": " "}, "ForgeFed Accept result must be a URI or object with id"),
    ],
)
def test_the_task_uri_comes_from_the_accept_result(reply: dict[str, Any], expected: str) -> None:
    if expected.startswith("https://"):
        assert flow.task_uri(reply) == expected
        return
    with pytest.raises(flow.TaskError) as raised:
        flow.task_uri(reply)
    assert (raised.value.status, raised.value.message) == (502, expected)


@pytest.mark.parametrize(
    ("task", "text"),
    [
        ({"result": {"content": "a"}, "content": "b"}, "a"),
        ({"result": {"output_text": "a"}, "output_text": "b"}, "a"),
        ({"output_text": "a", "content": "b"}, "a"),
        ({"content": "", "summary": "s", "name": "n"}, "s"),
        ({"name": "n"}, "n"),
        ({"choices": [{"message": {"content": "c"}}]}, "c"),
    ],
)
def test_the_answer_is_the_first_text_found(task: dict[str, Any], text: str) -> None:
    assert flow.answer_text(task) == text


def test_a_task_without_text_is_answered_with_its_json() -> None:
    task = {"isResolved": True, "id": "x"}
    assert json.loads(flow.answer_text(task)) == task


def test_usage_reads_openai_or_anthropic_names_and_defaults_to_zero() -> None:
    assert flow.usage_of({"usage": {"prompt_tokens": 3, "completion_tokens": 4}})["total_tokens"] == 7
    assert flow.usage_of({"usage": {"input_tokens": 1, "output_tokens": 2}}) == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
    }
    assert flow.usage_of({"usage": {"prompt_tokens": True, "completion_tokens": -1}})["total_tokens"] == 0
    assert flow.usage_of({})["total_tokens"] == 0


def test_stream_chunks_are_role_content_finish_and_usage_on_request() -> None:
    answer = flow.Answer("id", 1, "m")
    frames = answer.chunks("hello", None)
    assert [f["choices"][0]["delta"] for f in frames] == [
        {"role": "assistant", "content": ""},
        {"content": "hello"},
        {},
    ]
    assert frames[-1]["choices"][0]["finish_reason"] == "stop"
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert answer.chunks("hello", usage)[-1] == {
        "id": "id",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": usage,
    }


def sse_data(raw: bytes) -> list[str]:
    return [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize("split", [1, 3, 7, 1000])
def test_the_stream_codec_turns_task_lines_into_chat_sse_however_they_are_split(split: int) -> None:
    codec = flow.StreamCodec(flow.Answer("id", 1, "m"), include_usage=True)
    task = {"isResolved": True, "content": "hi", "usage": {"prompt_tokens": 2, "completion_tokens": 3}}
    lines = flow.wait_line() + flow.wait_line() + flow.task_line(task) + flow.wait_line()
    out = b"".join(codec.feed(lines[i : i + split]) for i in range(0, len(lines), split)) + codec.finish()
    assert out.count(b": waiting\n\n") == 2 and codec.done
    data = sse_data(out)
    assert data[-1] == "[DONE]" and json.loads(data[1])["choices"][0]["delta"]["content"] == "hi"
    assert json.loads(data[-2])["usage"]["total_tokens"] == 5
    assert (codec.usage.input, codec.usage.output) == (2, 3)


def test_the_stream_codec_reports_errors_in_band() -> None:
    codec = flow.StreamCodec(flow.Answer("id", 1, "m"), include_usage=False)
    out = codec.feed(flow.error_line(flow.TaskError(504, "task x did not resolve within 1 seconds")))
    assert sse_data(out) == [
        json.dumps(
            {"error": {"type": "forgefed_task_error", "message": "task x did not resolve within 1 seconds"}}
        ),
        "[DONE]",
    ]
    assert codec.finish() == b"" and codec.fail(GatewayError(502, "api_error", "x")) is None
    cut = flow.StreamCodec(flow.Answer("id", 1, "m"), include_usage=False)
    assert b"ended without an answer" in cut.finish()


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
)
def test_any_json_body_gives_a_ticket_or_a_400(body: Any) -> None:
    request = body if isinstance(body, dict) else {"model": "m", "messages": body}
    try:
        ticket = flow.ticket_of(request, ACTOR)
    except flow.TaskError as exc:
        assert exc.status == 400
    else:
        assert isinstance(ticket.content, str) and ticket.title
