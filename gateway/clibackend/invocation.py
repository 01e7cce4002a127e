"""Turn a Messages API request body into one `claude -p` run: arguments, prompt text, environment.

Pure. The CLI takes one prompt, so earlier turns are written into it as a transcript; the client's
`system` replaces Claude Code's default system prompt; the CLI's own tools are switched off (the
API caller did not ask for an agent). What the CLI cannot express (client tools, images, documents)
is refused with a 400, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.errors import GatewayError, bad_request

DEFAULT_BINARY = "claude"
# Switches that make the CLI behave like one API call: no tools, no saved session, no user settings,
# no retries of its own (the router decides about retries and accounts).
BASE_ARGS: tuple[str, ...] = (
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--include-partial-messages",
    "--tools",
    "",
    "--no-session-persistence",
    "--setting-sources",
    "",
)
QUIET_ENV: Mapping[str, str] = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "CLAUDE_CODE_MAX_RETRIES": "0",
}
UNSUPPORTED_FIELDS = ("tools", "tool_choice")


@dataclass(frozen=True)
class Invocation:
    args: tuple[str, ...]
    prompt: str
    model: str
    stream: bool
    system: str | None = None
    """The client's system prompt; handed over in a file (`--system-prompt-file`), never on the
    command line, which other local users can read and which holds at most 128 KiB per argument."""


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad_request(f"{where}: content must be a string or a list of content blocks")
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            raise bad_request(f"{where}: every content block must be an object")
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif kind in ("thinking", "redacted_thinking"):
            continue  # earlier reasoning is not part of the transcript
        else:
            raise cli_unsupported(f"{where}: content blocks of type {kind!r}")
    return "\n\n".join(parts)


def cli_unsupported(what: str) -> GatewayError:
    return bad_request(f"{what} cannot be sent through the claude CLI (routing mode cli)")


def render_prompt(messages: Sequence[Any]) -> str:
    """The last user turn as the prompt; earlier turns, if any, as a transcript before it."""
    if not messages:
        raise bad_request("messages: at least one message is required")
    turns: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
            raise bad_request(f"messages.{i}: each message needs role user, assistant or system")
        turns.append((str(message["role"]), _text_of(message.get("content"), f"messages.{i}")))
    if turns[-1][0] != "user":
        raise cli_unsupported("a conversation that does not end with a user turn (prefill)")
    *history, (_, last) = turns
    if not history:
        return last
    lines = ["<conversation_history>"]
    for role, text in history:
        lines.append(f"<{role}>\n{text}\n</{role}>")
    lines.append("</conversation_history>")
    lines.append("")
    lines.append(last)
    return "\n".join(lines)


def system_text(system: Any) -> str | None:
    if system is None:
        return None
    text = _text_of(system, "system")
    return text or None


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise bad_request("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise bad_request("request body must be a JSON object")
    return payload


def build_invocation(payload: Mapping[str, Any]) -> Invocation:
    """Raises `GatewayError` (400) for what the CLI cannot do."""
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("model: a model name is required")
    for name in UNSUPPORTED_FIELDS:
        if payload.get(name):
            raise cli_unsupported(f"{name}")
    messages = payload.get("messages")
    if not isinstance(messages, list):
        raise bad_request("messages: a list of messages is required")
    prompt = render_prompt(messages)
    args = (*BASE_ARGS, f"--model={model}")  # one token: a model name starting with '-' is no flag
    return Invocation(args, prompt, model, bool(payload.get("stream")), system_text(payload.get("system")))


def credential_env(auth_headers: Mapping[str, str]) -> dict[str, str]:
    """The account's credential as the CLI reads it: an OAuth token or an API key."""
    authorization = auth_headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        return {"CLAUDE_CODE_OAUTH_TOKEN": authorization[len("Bearer ") :]}
    if auth_headers.get("x-api-key"):
        return {"ANTHROPIC_API_KEY": auth_headers["x-api-key"]}
    return {}


PASS_THROUGH = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
)


def cli_environment(
    environ: Mapping[str, str], home: str, base_url: str | None, credential: Mapping[str, str] | None
) -> dict[str, str]:
    """The child's environment. With a pool credential: a scratch HOME and only that credential, never
    the router's own secrets. Without one (hybrid fallback when no account is left): the CLI's own
    login, i.e. the router's HOME and its ANTHROPIC_*/CLAUDE_* settings."""
    env = {k: environ[k] for k in PASS_THROUGH if k in environ}
    if credential is None:
        env.update(
            {k: v for k, v in environ.items() if k.startswith(("ANTHROPIC_", "CLAUDE_")) or k == "HOME"}
        )
    else:
        env["HOME"] = home
        env.update(credential)
        if base_url:
            env["ANTHROPIC_BASE_URL"] = base_url.rstrip("/")
    env.update(QUIET_ENV)
    return env
