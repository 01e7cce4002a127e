"""Compressed request bodies: decoded bodies lose their `content-encoding`; a corrupt one is a 400.

Before: the server decoded a gzip body but forwarded it still labelled `content-encoding: gzip`
(the upstream would try to gunzip plain JSON), and a corrupt gzip body was a 500 with a traceback.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import aiohttp
import pytest

from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config, running_gateway

BODY = json.dumps({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}).encode()
CHAT = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()


async def test_gzip_bodies_are_forwarded_decoded_and_unlabelled(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http:
            gzipped = {**headers, "Content-Encoding": "gzip"}
            url = gw.url + "/v1/messages"
            async with http.post(url, data=gzip.compress(BODY), headers=gzipped) as response:
                assert response.status == 200, await response.text()
            seen = fake.requests[-1]
            # (the OAuth account adds its identity block, so compare what the client sent)
            assert json.loads(seen.body)["messages"] == json.loads(BODY)["messages"]
            assert "content-encoding" not in seen.headers
            # An encoding the server does not decode is forwarded exactly as received, labelled.
            async with http.post(
                gw.url + "/v1/messages/count_tokens",
                data=b"\x1f\x9dopaque",
                headers={**headers, "Content-Encoding": "compress"},
            ) as response:
                await response.read()
            seen = fake.requests[-1]
            assert seen.body == b"\x1f\x9dopaque" and seen.headers["content-encoding"] == "compress"


@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [("/v1/messages", BODY, "anthropic"), ("/v1/chat/completions", CHAT, "openai")],
)
async def test_a_corrupt_gzip_body_is_a_400_in_the_routes_dialect(
    fake: FakeAnthropic,
    claude_home: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: bytes,
    shape: str,
) -> None:
    corrupt = gzip.compress(body)[:12] + b"\x00garbage\xff" * 4
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key()
        headers = {"Authorization": f"Bearer {key}", "Content-Encoding": "gzip"}
        with caplog.at_level(logging.ERROR):
            async with (
                aiohttp.ClientSession() as http,
                http.post(gw.url + path, data=corrupt, headers=headers) as r,
            ):
                status, answer = r.status, await r.json()
    assert status == 400, answer
    error = answer["error"]
    assert "request body could not be read" in error["message"]
    if shape == "anthropic":
        assert answer["type"] == "error" and error["type"] == "invalid_request_error"
    else:
        assert error["type"] == "invalid_request_error"
    assert "Traceback" not in caplog.text and "unhandled error" not in caplog.text
    assert fake.messages_requests() == []
