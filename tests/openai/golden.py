"""Runs the pure translators over the golden fixtures under tests/openai/fixtures/.

Each case folder holds `in.json`/`out.json` or `in.sse`/`out.sse` (+ optional `options.json`).
Request cases that must be refused have an `out.json` of `{"status": …, "body": <OpenAI error>}`.
`UPDATE_GOLDEN=1 pytest tests/openai` rewrites the outputs; review the diff before committing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.errors import GatewayError
from gateway.openai.chat_request import translate_chat_request
from gateway.openai.chat_response import translate_chat_response
from gateway.openai.chat_stream import ChatStreamTranslator
from gateway.openai.models import build_alias_table
from gateway.openai.responses_request import translate_responses_request
from gateway.openai.responses_response import translate_responses_response
from gateway.openai.responses_stream import ResponsesStreamTranslator
from gateway.openai.sse import SseDecoder, SseEvent, encode_all

FIXTURES = Path(__file__).parent / "fixtures"
CREATED = 1700000000
ALIASES = build_alias_table()

JSON_DIRECTIONS: dict[str, Callable[[Any], Any]] = {
    "chat_request": lambda body: translate_chat_request(body, ALIASES),
    "responses_request": lambda body: translate_responses_request(body, ALIASES),
}


def stream_translator(
    direction: str, options: dict[str, Any]
) -> ChatStreamTranslator | ResponsesStreamTranslator:
    if direction == "chat_stream":
        include_usage, json_mode = bool(options.get("include_usage")), bool(options.get("json_mode"))
        return ChatStreamTranslator(CREATED, include_usage=include_usage, json_mode=json_mode)
    return ResponsesStreamTranslator(CREATED, echo=options.get("echo"))


def cases(*directions: str) -> list[Path]:
    return sorted(case for d in directions for case in (FIXTURES / d).iterdir() if case.is_dir())


def case_id(case: Path) -> str:
    """A case's test id, relative to the fixtures folder (e.g. `chat_request/basic`), never absolute."""
    return case.relative_to(FIXTURES).as_posix()


def run_json(case: Path, body: Any = None) -> Any:
    """The translation of the case's input (or of `body`), or the error it was refused with."""
    if body is None:
        body = json.loads((case / "in.json").read_text())
    try:
        if case.parent.name == "responses_response":
            return translate_responses_response(body, CREATED, read_options(case).get("echo"))
        if case.parent.name == "chat_response":
            return translate_chat_response(body, CREATED, bool(read_options(case).get("json_mode")))
        return JSON_DIRECTIONS[case.parent.name](body)
    except GatewayError as error:
        return {"status": error.status, "body": error.openai_body()}


def read_options(case: Path) -> dict[str, Any]:
    """Per-case settings: `include_usage`, `json_mode` (chat), `echo` (the Responses request body)."""
    path = case / "options.json"
    return json.loads(path.read_text()) if path.exists() else {}


def run_stream(case: Path, chunk_size: int | None = None) -> bytes:
    options = read_options(case)
    translator = stream_translator(case.parent.name, options)
    payload = (case / "in.sse").read_bytes()
    size = chunk_size or len(payload)
    decoder = SseDecoder()
    frames: list[SseEvent] = []
    for start in range(0, len(payload), size):
        for event in decoder.feed(payload[start : start + size]):
            frames += translator.feed(event)
    for event in decoder.finish():
        frames += translator.feed(event)
    frames += translator.finish()
    return encode_all(frames)


def update_json(case: Path, result: Any) -> None:
    (case / "out.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
