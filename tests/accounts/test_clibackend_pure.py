"""The cli routing mode's pure parts: request → CLI invocation, CLI stream-json → Anthropic output.

The `.jsonl` fixtures are real Claude Code 2.1.197 output (its init line removed) recorded against
the fake upstream: a streamed answer, an exhausted 5-hour window, an unreachable upstream.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.accounts.classify import OutcomeKind, QuotaWindow, classify_response
from gateway.clibackend.events import CliOutput
from gateway.clibackend.invocation import (
    build_invocation,
    cli_environment,
    credential_env,
    render_prompt,
)
from gateway.errors import GatewayError

FIXTURES = Path(__file__).parent / "fixtures"


def feed_all(name: str) -> tuple[CliOutput, list[bytes]]:
    output = CliOutput()
    frames: list[bytes] = []
    for line in (FIXTURES / name).read_bytes().splitlines():
        frames += output.feed(line)
    return output, frames


def test_streamed_answer_becomes_the_exact_anthropic_sse_sequence() -> None:
    output, frames = feed_all("cli_success.jsonl")
    events = [frame.split(b"\n")[0].decode() for frame in frames]
    deltas = ["event: content_block_delta"] * 5
    assert events == [
        "event: message_start",
        "event: content_block_start",
        *deltas,
        "event: content_block_stop",
        "event: message_delta",
        "event: message_stop",
    ]
    first = json.loads(frames[0].split(b"\n")[1][len(b"data: ") :])
    assert first["type"] == "message_start" and first["message"]["id"] == "msg_fake01"
    assert output.finish(0) is None
    message = output.message()
    assert message["content"] == [{"type": "text", "text": "Hello from the fake upstream"}]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {
        "input_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 7,
    }
    assert message["model"] == "claude-haiku-4-5" and message["type"] == "message"


def test_exhausted_window_is_reported_as_a_quota_429() -> None:
    output, frames = feed_all("cli_quota.jsonl")
    assert frames == [] and not output.started
    failure = output.finish(1)
    assert failure is not None and failure.status == 429
    error = failure.client_error()
    assert (error.status, error.error_type) == (429, "rate_limit_error")
    verdict = classify_response(429, failure.headers, 1_795_600_000.0)
    assert verdict.kind is OutcomeKind.QUOTA_EXHAUSTED
    assert verdict.quota is not None and verdict.quota.window is QuotaWindow.FIVE_HOUR
    assert verdict.quota.reset_at == 1_795_624_969


def test_unreachable_upstream_and_a_silent_crash_are_502s() -> None:
    output, _ = feed_all("cli_unreachable.jsonl")
    failure = output.finish(1)
    assert failure is not None and failure.status is None
    assert failure.client_error().status == 502
    assert "ConnectionRefused" in failure.message
    crashed = CliOutput()
    crashed.feed(b"not json at all")
    lost = crashed.finish(137)
    assert lost is not None and "exit 137" in lost.message


def test_invocation_flags_system_prompt_and_model() -> None:
    invocation = build_invocation(
        {
            "model": "claude-x",
            "stream": True,
            "system": [{"type": "text", "text": "S"}],
            "messages": [{"role": "user", "content": "Q"}],
        }
    )
    args = invocation.args
    assert args[:1] == ("-p",) and invocation.prompt == "Q" and invocation.stream
    assert args[args.index("--output-format") + 1] == "stream-json"
    assert args[args.index("--tools") + 1] == ""
    assert "--model=claude-x" in args
    assert invocation.system == "S" and "S" not in args  # the system prompt travels in a private file
    assert "Q" not in args  # the prompt travels on stdin


def test_history_is_rendered_as_a_transcript_before_the_last_turn() -> None:
    prompt = render_prompt(
        [
            {"role": "user", "content": "one"},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "x"}, {"type": "text", "text": "two"}],
            },
            {"role": "user", "content": [{"type": "text", "text": "three"}]},
        ]
    )
    assert prompt == (
        "<conversation_history>\n<user>\none\n</user>\n<assistant>\ntwo\n</assistant>\n"
        "</conversation_history>\n\nthree"
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "m", "messages": [{"role": "user", "content": "q"}], "tools": [{"name": "t"}]},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
        {
            "model": "m",
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "pre"}],
        },
        {"model": "m", "messages": []},
        {"messages": [{"role": "user", "content": "q"}]},
        {"model": "m", "messages": [{"role": "robot", "content": "q"}]},
    ],
)
def test_what_the_cli_cannot_express_is_a_400(payload: dict[str, object]) -> None:
    with pytest.raises(GatewayError) as caught:
        build_invocation(payload)
    assert caught.value.status == 400 and caught.value.error_type == "invalid_request_error"


def test_environment_carries_only_the_account_credential() -> None:
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/srv/router",
        "TOKEN_SECRET": "s3cret",
        "TOKEN_ADMIN_KEY": "adm",
        "ANTHROPIC_API_KEY": "sk-ant-api03-router-own",
    }
    env = cli_environment(
        parent,
        "/data/cli-home/a",
        "http://127.0.0.1:9/",
        credential_env({"authorization": "Bearer sk-ant-oat01-acct"}),
    )
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == "sk-ant-oat01-acct"
    assert env["HOME"] == "/data/cli-home/a" and env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert "TOKEN_SECRET" not in env and "TOKEN_ADMIN_KEY" not in env and "ANTHROPIC_API_KEY" not in env
    assert env["CLAUDE_CODE_MAX_RETRIES"] == "0"
    assert credential_env({"x-api-key": "sk-ant-api03-k"}) == {"ANTHROPIC_API_KEY": "sk-ant-api03-k"}
    own = cli_environment(parent, "/unused", None, None)
    assert own["HOME"] == "/srv/router" and own["ANTHROPIC_API_KEY"] == "sk-ant-api03-router-own"
    assert "TOKEN_SECRET" not in own
