"""Paths that could leave the proxied API are refused before anything is forwarded.

Before: `POST /api/latest/anthropic/../../api/tokens` reached the upstream as `POST /../../api/tokens`
with the account's real credential attached.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.pathguard import PathRefused, check_upstream_path
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway

HOSTILE = [
    "/../../api/tokens",
    "/v1/..",
    "/v1/./messages",
    "/v1/%2e%2e/%2E%2e/api/tokens",
    "/v1/%2e./x",
    "/v1/.%2E/x",
    "/v1/messages%2f..%2fx",
    "/v1/messages%2F..",
    "/v1/%5c..%5cx",
    "/v1\\..\\x",
    "/v1/a%00b",
]
FINE = [
    "/v1/messages",
    "/v1/files/file%20name",
    "/v1/files/file%2F01",
    "/v1/a%5Cb",
    "/v1/models/claude-3.5",
    "/v1/a..b/.hidden",
    "/",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_are_refused(path: str) -> None:
    with pytest.raises(PathRefused) as info:
        check_upstream_path(path)
    assert path not in str(info.value)


@pytest.mark.parametrize("path", FINE)
def test_ordinary_paths_pass_unchanged(path: str) -> None:
    assert check_upstream_path(path) == path


@given(st.lists(st.text(alphabet="./%2eEfF5cC0a", max_size=6), max_size=5))
def test_nothing_accepted_decodes_to_a_dot_segment(segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    try:
        check_upstream_path(path)
    except PathRefused:
        return
    # Decoded, and with encoded slashes and backslashes taken as separators, no segment is a dot.
    assert not any(s in (".", "..") for s in unquote(path).replace("\\", "/").split("/"))


async def raw_request(url: str, target: str, key: str) -> tuple[int, dict[str, object]]:
    """A request with the target byte for byte (HTTP clients would normalise the dots away)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    body = b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
    writer.write(
        f"POST {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(payload) if payload.startswith(b"{") else {}


async def test_the_gateway_refuses_them_and_the_upstream_never_sees_them(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key()
        for prefix in ("/api/latest/anthropic", ""):
            for path in HOSTILE[:-2]:
                status, body = await raw_request(gw.url, prefix + path, key)
                assert status in (400, 404), (prefix + path, status, body)
                if status == 400:
                    assert body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        assert fake.requests == []
        status, _ = await raw_request(gw.url, "/api/latest/anthropic/v1/messages?beta=true", key)
        assert status == 200 and fake.requests[-1].raw_path == "/v1/messages"
