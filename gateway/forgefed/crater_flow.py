"""Crater, pure: an OpenAI chat request as a ForgeFed Offer{Ticket}, and a resolved ticket as the answer.

No I/O. The rules are the seed's: `model` and a `messages` array are required; every message with
text becomes a line `<role>: <text>`; the title is `metadata.title`, else the first line of the
first user message; the Accept's `result` (a URI, or an object with an `id`) names the task; the
answer text is the first non-empty of `result.content`, `result.output_text`, `output_text`,
`content`, `summary`, `name`, `choices[0].message.content`, else the whole task as JSON.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gateway.errors import GatewayError
from gateway.exchange.interface import Usage
from gateway.forgefed.documents import CONTEXT, object_id

ERROR_TYPE = "forgefed_task_error"
LINES_TYPE = "application/x-crater-task-lines"
"""The backend's streamed body: one JSON object per line, `{"wait":true}`, `{"task":…}` or `{"error":…}`."""


class TaskError(Exception):
    """The Crater flow failed: HTTP status for the client (400, 502, 504) and a safe message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Ticket:
    model: str
    title: str
    content: str
    attributed_to: str
    assignee: str | None = None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                value = part.get("text") if isinstance(part.get("text"), str) else part.get("content")
                if isinstance(value, str) and value.strip():
                    parts.append(value.strip())
        return "\n".join(parts)
    return ""


def ticket_of(body: dict[str, Any], actor: str) -> Ticket:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise TaskError(400, "model is required")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise TaskError(400, "messages array is required")
    lines, first_user = [], None
    for message in messages:
        if not isinstance(message, dict):
            continue
        text = _text(message.get("content"))
        if not text:
            continue
        role = message.get("role") if isinstance(message.get("role"), str) else "user"
        lines.append(f"{role}: {text}")
        if role == "user" and first_user is None:
            first_user = text.splitlines()[0]
    metadata = _mapping(body.get("metadata"))
    title = metadata.get("title")
    if not isinstance(title, str) or not title.strip():
        title = first_user or "OpenAI chat request"
    attributed = metadata.get("attributedTo") or metadata.get("attributed_to")
    assignee = metadata.get("assignee")
    return Ticket(
        model=model,
        title=title.strip(),
        content="\n".join(lines),
        attributed_to=attributed if isinstance(attributed, str) and attributed else actor,
        assignee=assignee if isinstance(assignee, str) and assignee else None,
    )


def offer(ticket: Ticket, actor: str, target: str, offer_id: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "Ticket",
        "context": target,
        "attributedTo": ticket.attributed_to,
        "summary": ticket.title,
        "content": ticket.content,
        "mediaType": "text/plain",
        "source": {"mediaType": "text/plain", "content": ticket.content},
        "model": ticket.model,
    }
    if ticket.assignee:
        obj["assignee"] = ticket.assignee
    return {
        "@context": CONTEXT,
        "id": offer_id,
        "type": "Offer",
        "actor": actor,
        "to": [target],
        "target": target,
        "object": obj,
    }


def reply_kind(reply: Any) -> str | None:
    """ "Accept", "Reject" or None (not an answer to the Offer: wait for one by delivery)."""
    kind = reply.get("type") if isinstance(reply, dict) else None
    return kind if kind in ("Accept", "Reject") else None


def task_uri(accept: dict[str, Any]) -> str:
    if reply_kind(accept) == "Reject":
        raise TaskError(502, "ForgeFed inbox rejected the Offer")
    result = accept.get("result")
    if result is None:
        raise TaskError(502, "ForgeFed Accept is missing result")
    if isinstance(result, dict) and not object_id(result):
        raise TaskError(502, "ForgeFed Accept result object missing id")
    uri = object_id(result)
    if not uri or not uri.strip():
        raise TaskError(502, "ForgeFed Accept result must be a URI or object with id")
    return uri.strip()


def is_resolved(task: Any) -> bool:
    return isinstance(task, dict) and task.get("isResolved") is True


def answer_text(task: dict[str, Any]) -> str:
    result = _mapping(task.get("result"))
    for value in (
        result.get("content"),
        result.get("output_text"),
        task.get("output_text"),
        task.get("content"),
        task.get("summary"),
        task.get("name"),
    ):
        if isinstance(value, str) and value.strip():
            return value
    choices = task.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str) and message["content"]:
            return str(message["content"])
    return json.dumps(task)


def usage_of(task: dict[str, Any]) -> dict[str, int]:
    """OpenAI usage from the task's `usage` (OpenAI or Anthropic names), zeros when absent."""
    raw = _mapping(task.get("usage"))

    def count(*names: str) -> int:
        for name in names:
            value = raw.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        return 0

    prompt = count("prompt_tokens", "input_tokens")
    completion = count("completion_tokens", "output_tokens")
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def usage_record(usage: dict[str, int]) -> Usage:
    return Usage(input=usage["prompt_tokens"], output=usage["completion_tokens"])


def now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Answer:
    """The chat completion's identity: one id and creation time for the JSON answer or every chunk."""

    completion_id: str
    created: int
    model: str

    def completion(self, text: str, usage: dict[str, int]) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": usage,
        }

    def chunk(self, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def chunks(self, text: str, usage: dict[str, int] | None) -> list[dict[str, Any]]:
        """The streamed answer: role, the whole content, finish (and a usage chunk when asked for)."""
        out = [self.chunk({"role": "assistant", "content": ""}, None), self.chunk({"content": text}, None)]
        out.append(self.chunk({}, "stop"))
        if usage is not None:
            out.append({**self.chunk({}, None), "choices": [], "usage": usage})
        return out


def wait_line() -> bytes:
    return b'{"wait":true}\n'


def task_line(task: dict[str, Any]) -> bytes:
    return json.dumps({"task": task}).encode() + b"\n"


def error_line(error: TaskError) -> bytes:
    return json.dumps({"error": {"status": error.status, "message": error.message}}).encode() + b"\n"


def sse(data: Any) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def error_frame(message: str) -> bytes:
    return sse({"error": {"type": ERROR_TYPE, "message": message}}) + DONE


class StreamCodec:
    """Task lines in, OpenAI chat SSE out: a `: waiting` comment per poll, then the answer's chunks."""

    def __init__(self, answer: Answer, include_usage: bool) -> None:
        self._answer = answer
        self._include_usage = include_usage
        self._pending = b""
        self._done = False
        self._usage = Usage()

    @property
    def done(self) -> bool:
        return self._done

    @property
    def usage(self) -> Usage:
        return self._usage

    def feed(self, chunk: bytes) -> bytes:
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        return b"".join(self._line(line) for line in lines if line.strip() and not self._done)

    def _line(self, line: bytes) -> bytes:
        try:
            item = json.loads(line)
        except ValueError:
            return b""
        if not isinstance(item, dict) or item.get("wait"):
            return b": waiting\n\n"
        self._done = True
        if isinstance(item.get("error"), dict):
            return error_frame(str(item["error"].get("message", "the ForgeFed task failed")))
        task = _mapping(item.get("task"))
        usage = usage_of(task)
        self._usage = usage_record(usage)
        frames = self._answer.chunks(answer_text(task), usage if self._include_usage else None)
        return b"".join(sse(frame) for frame in frames) + DONE

    def finish(self) -> bytes:
        if self._done:
            return b""
        self._done = True
        return error_frame("the ForgeFed task ended without an answer")

    def fail(self, error: GatewayError) -> bytes | None:
        if self._done:
            return None
        self._done = True
        return error_frame(error.message)
