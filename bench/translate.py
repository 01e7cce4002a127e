"""Benchmark of the pure OpenAI ↔ Anthropic translation (run with `make bench` or directly).

Measures microseconds per request to translate a realistic 20-message tool conversation (Chat
Completions and Responses), per answer translated back (thinking, text, parallel tool calls), and
per streamed chunk (text deltas, then tool-call argument fragments) for the stream state machines,
including the SSE decode and encode. Targets: < 200 µs per request, < 10 µs per chunk. Prints one
line per figure and exits non-zero when a target is missed (so CI notices a regression). Times are
CPU time of this process (best of 5 rounds), so other work on a shared machine does not count.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from gateway.openai.chat_request import translate_chat_request
from gateway.openai.chat_response import translate_chat_response
from gateway.openai.chat_stream import ChatStreamTranslator
from gateway.openai.models import build_alias_table
from gateway.openai.responses_request import translate_responses_request
from gateway.openai.responses_response import translate_responses_response
from gateway.openai.responses_stream import ResponsesStreamTranslator
from gateway.openai.sse import SseDecoder, encode

REQUEST_TARGET_US = 200.0
CHUNK_TARGET_US = 10.0

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name.replace('_', ' ')} for the given arguments",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
                "required": ["path"],
            },
        },
    }
    for name in ("read_file", "list_dir", "grep", "write_file", "run_tests")
]


def chat_conversation() -> dict[str, Any]:
    """system + 19 turns: user asks, assistant calls tools (some in parallel), tools answer."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a careful coding agent. " * 20}]
    messages.append({"role": "user", "content": "Find why the tests fail and fix it. " * 5})
    turn = 0
    while len(messages) < 19:
        calls = [
            {
                "id": f"call_{turn}_{k}",
                "type": "function",
                "function": {
                    "name": TOOLS[(turn + k) % 5]["function"]["name"],
                    "arguments": json.dumps({"path": f"src/module_{turn}_{k}.py", "limit": 200}),
                },
            }
            for k in range(1 + turn % 2)
        ]
        step = f"Step {turn}: looking around."
        messages.append({"role": "assistant", "content": step, "tool_calls": calls})
        for call in calls:
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": "line of code\n" * 40})
        turn += 1
    messages.append({"role": "user", "content": [{"type": "text", "text": "Good, continue."}]})
    return {
        "model": "gpt-4o",
        "messages": messages[:20],
        "tools": TOOLS,
        "tool_choice": "auto",
        "max_completion_tokens": 2048,
        "temperature": 0.2,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def responses_conversation(chat: dict[str, Any]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for m in chat["messages"][1:]:
        if m["role"] == "tool":
            output = {"type": "function_call_output", "call_id": m["tool_call_id"], "output": m["content"]}
            items.append(output)
            continue
        items.append({"role": m["role"], "content": m["content"]})
        for call in m.get("tool_calls", ()):
            fn = call["function"]
            items.append(
                {
                    "type": "function_call",
                    "call_id": call["id"],
                    "name": fn["name"],
                    "arguments": fn["arguments"],
                }
            )
    tools = [{"type": "function", **t["function"]} for t in TOOLS]
    return {"model": "gpt-4o", "instructions": chat["messages"][0]["content"], "input": items, "tools": tools}


def event(name: str, **fields: Any) -> bytes:
    """One Anthropic SSE frame (the JSON `type` equals the event name)."""
    return f"event: {name}\ndata: {json.dumps({'type': name, **fields})}\n\n".encode()


def anthropic_stream(chunks: int) -> list[bytes]:
    """Network reads of a realistic Anthropic stream, one frame per read: text deltas, then a tool
    call whose arguments arrive as `input_json_delta` fragments (half the chunks each)."""
    start = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5"}
    start |= {"content": [], "stop_reason": None, "usage": {"input_tokens": 900, "output_tokens": 1}}
    reads = [event("message_start", message=start)]
    reads.append(event("content_block_start", index=0, content_block={"type": "text", "text": ""}))
    for i in range(chunks // 2):
        delta = {"type": "text_delta", "text": f"token{i} and some more "}
        reads.append(event("content_block_delta", index=0, delta=delta))
    reads.append(event("content_block_stop", index=0))
    call = {"type": "tool_use", "id": "toolu_01", "name": "write_file", "input": {}}
    reads.append(event("content_block_start", index=1, content_block=call))
    lines = [f"line {i}\\n" for i in range(chunks // 2 - 2)]
    for fragment in ['{"path": "src/app.py", "content": "', *lines, '"}']:
        reads.append(
            event(
                "content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": fragment}
            )
        )
    reads.append(event("content_block_stop", index=1))
    usage = {"output_tokens": chunks}
    reads.append(event("message_delta", delta={"stop_reason": "tool_use"}, usage=usage))
    reads.append(event("message_stop"))
    return reads


def anthropic_answer() -> dict[str, Any]:
    """A realistic non-streamed answer: thinking, a paragraph of text and two parallel tool calls."""
    calls = [
        {
            "type": "tool_use",
            "id": f"toolu_0{k}",
            "name": "read_file",
            "input": {"path": f"src/m{k}.py", "limit": 200},
        }
        for k in range(2)
    ]
    content = [
        {
            "type": "thinking",
            "thinking": "The failing test imports the wrong module. " * 10,
            "signature": "EqQB" * 40,
        },
        {"type": "text", "text": "I will read both modules to compare them. " * 8},
        *calls,
    ]
    usage = {"input_tokens": 900, "cache_read_input_tokens": 12000, "output_tokens": 310}
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": usage,
    }


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm up
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(rounds):
            fn()
        best = min(best, (time.process_time() - start) / rounds * 1e6)
    return best


def stream_us_per_chunk(make: Callable[[], ChatStreamTranslator | ResponsesStreamTranslator]) -> float:
    reads = anthropic_stream(500)

    def run() -> None:
        decoder = SseDecoder()
        translator = make()
        for read in reads:
            for event in decoder.feed(read):
                for out in translator.feed(event):
                    encode(out)

    return per_call_us(run, 20) / len(reads)


def main() -> int:
    aliases = build_alias_table()
    chat = chat_conversation()
    responses = responses_conversation(chat)
    answer = anthropic_answer()
    figures = {
        "chat request (20 messages, 5 tools)": (
            per_call_us(lambda: translate_chat_request(chat, aliases), 2000),
            REQUEST_TARGET_US,
        ),
        "responses request (same conversation)": (
            per_call_us(lambda: translate_responses_request(responses, aliases), 2000),
            REQUEST_TARGET_US,
        ),
        "chat answer (thinking, text, 2 tool calls)": (
            per_call_us(lambda: translate_chat_response(answer, 0), 5000),
            REQUEST_TARGET_US,
        ),
        "responses answer (same message)": (
            per_call_us(lambda: translate_responses_response(answer, 0, responses), 5000),
            REQUEST_TARGET_US,
        ),
        "chat stream, per chunk (decode+translate+encode)": (
            stream_us_per_chunk(lambda: ChatStreamTranslator(0, include_usage=True)),
            CHUNK_TARGET_US,
        ),
        "responses stream, per chunk (decode+translate+encode)": (
            stream_us_per_chunk(lambda: ResponsesStreamTranslator(0)),
            CHUNK_TARGET_US,
        ),
    }
    failed = False
    for name, (value, target) in figures.items():
        ok = value < target
        failed |= not ok
        print(f"{name:55s} {value:8.1f} µs   (target < {target:g} µs) {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
