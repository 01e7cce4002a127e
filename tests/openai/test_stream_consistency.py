"""Streamed and non-streamed answers say the same thing.

Every golden Anthropic message (`chat_response`, `responses_response` cases) is replayed as the event
stream that would have carried it (`replay.message_events`, also what the gateway does when an
upstream answers a stream request with JSON) and fed to the stream translator. What an OpenAI
client assembles from that stream must equal the non-streamed translation: text, reasoning, signed
thinking, tool calls with their ids and arguments, finish reason and usage; for Responses, the final
`response` object itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.openai.chat_response import translate_chat_response
from gateway.openai.chat_stream import ChatStreamTranslator
from gateway.openai.replay import message_events
from gateway.openai.responses_response import translate_responses_response
from gateway.openai.responses_stream import ResponsesStreamTranslator
from gateway.openai.sse import DONE, SseEvent
from tests.openai.golden import CREATED, case_id, cases, read_options


def streamed(translator: ChatStreamTranslator | ResponsesStreamTranslator, message: Any) -> list[SseEvent]:
    return [frame for event in message_events(message) for frame in translator.feed(event)] + (
        translator.finish()
    )


def assemble_chat(frames: list[SseEvent]) -> dict[str, Any]:
    """What a client keeps from a Chat stream (the SDK's accumulation, written out)."""
    content, reasoning, finish, usage = "", "", None, None
    calls: dict[int, dict[str, Any]] = {}
    signed: list[dict[str, Any]] = []
    for frame in frames:
        if frame.data == DONE:
            continue
        chunk = json.loads(frame.data)
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice["delta"]
            finish = choice["finish_reason"] or finish
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or ""
            signed += [{k: v for k, v in b.items() if k != "index"} for b in delta.get("thinking_blocks", ())]
            for call in delta.get("tool_calls", ()):
                entry = calls.setdefault(call["index"], {"type": "function", "arguments": ""})
                entry.update({k: call[k] for k in ("id",) if k in call})
                entry.setdefault("name", call["function"].get("name"))
                entry["arguments"] += call["function"].get("arguments") or ""
    return {
        "content": content,
        "reasoning": reasoning,
        "thinking_blocks": signed,
        "tool_calls": [(c["id"], c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())],
        "finish_reason": finish,
        "usage": usage,
    }


def chat_view(completion: dict[str, Any]) -> dict[str, Any]:
    choice = completion["choices"][0]
    message = choice["message"]
    calls = message.get("tool_calls") or ()
    return {
        "content": message["content"] or "",
        "reasoning": message.get("reasoning_content") or "",
        "thinking_blocks": message.get("thinking_blocks") or [],
        "tool_calls": [
            (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls
        ],
        "finish_reason": choice["finish_reason"],
        "usage": completion["usage"],
    }


@pytest.mark.parametrize("case", cases("chat_response"), ids=case_id)
def test_a_streamed_chat_answer_assembles_to_the_non_streamed_one(case: Path) -> None:
    message = json.loads((case / "in.json").read_text())
    json_mode = bool(read_options(case).get("json_mode"))
    whole = translate_chat_response(message, CREATED, json_mode)
    frames = streamed(ChatStreamTranslator(CREATED, include_usage=True, json_mode=json_mode), message)
    assert assemble_chat(frames) == chat_view(whole)


@pytest.mark.parametrize("case", cases("responses_response"), ids=case_id)
def test_the_streamed_final_response_is_the_non_streamed_one(case: Path) -> None:
    message = json.loads((case / "in.json").read_text())
    echo = read_options(case).get("echo")
    frames = streamed(ResponsesStreamTranslator(CREATED, echo=echo), message)
    final = json.loads(frames[-1].data)
    assert final["type"] in ("response.completed", "response.incomplete")
    assert final["response"] == translate_responses_response(message, CREATED, echo)
