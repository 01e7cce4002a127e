"""The OpenAPI 3.1 document: checked in, current, served at /openapi.json, and true of a live gateway.

The schemathesis run drives every documented operation of a running gateway (valid and invalid
inputs) and checks: no 5xx, documented status codes and content types, bodies matching their
schemas. The upstream stand-in validates Messages bodies as the real API does (400 otherwise).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.http import openapi
from tests.support.fake_anthropic import FakeAnthropic, error_json
from tests.support.gateway import gateway_config, running_gateway

EXAMPLES = 25


class StrictAnthropic(FakeAnthropic):
    """The stand-in, refusing Messages bodies the real API refuses (not JSON objects, no model,
    max_tokens or messages of the right type) with its 400 instead of answering them."""

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError):
            body = None
        valid = (
            isinstance(body, dict)
            and isinstance(body.get("model"), str)
            and isinstance(body.get("max_tokens"), int)
            and isinstance(body.get("messages"), list)
        )
        if not valid:
            return web.json_response(error_json("invalid_request_error", "invalid request body"), status=400)
        return await super()._messages(request)


@pytest.fixture
async def strict() -> AsyncIterator[FakeAnthropic]:
    async with StrictAnthropic() as upstream:
        yield upstream


def test_the_checked_in_document_is_current() -> None:
    assert openapi.DOCUMENT.read_text() == openapi.render(), (
        "regenerate: python -m gateway.http.openapi > gateway/http/openapi.json"
    )
    assert openapi.build_document()["openapi"] == "3.1.0"


async def run_schemathesis(url: str, key: str, cwd: Path, *selection: str) -> int:
    """One schemathesis run over the selected operations; returns how many cases it generated."""
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli is not None, "schemathesis is in the [test] extra"
    process = await asyncio.create_subprocess_exec(
        cli,
        "run",
        str(openapi.DOCUMENT),
        "--url",
        url,
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,response_headers_conformance",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "11",
        "--header",
        f"Authorization: Bearer {key}",
        "--phases",
        "coverage,fuzzing",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "all",
        *selection,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"PATH": str(Path(sys.executable).parent), "NO_COLOR": "1"},
        cwd=cwd,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 400)
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, text[-6000:]
    assert "Authentication failed" not in text, text[-3000:]  # the key stayed usable: real answers
    generated = re.search(r"(\d+) generated, (\d+) passed", text)
    assert generated is not None and generated.group(1) == generated.group(2), text[-2000:]
    return int(generated.group(1))


@pytest.mark.timeout(400)  # two schemathesis runs, ~40 s on two shared cores
async def test_schemathesis_finds_no_5xx_and_every_response_matches(
    strict: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with (
        running_gateway(gateway_config(strict.url, tmp_path / "data", claude_home)) as gw,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(gw.url + "/openapi.json") as response:
            assert response.status == 200 and (await response.json()) == openapi.build_document()
        async with http.post(gw.url + "/api/tokens", json={"label": "schemathesis"}) as response:
            key = (await response.json())["token"]
        # Revoke and expire last: schemathesis reuses ids it saw in responses, our key's too.
        destructive = "^/api/tokens/(revoke|expire)$"
        cases = await run_schemathesis(gw.url, key, tmp_path, "--exclude-path-regex", destructive)
        cases += await run_schemathesis(gw.url, key, tmp_path, "--include-path-regex", destructive)
    assert cases > 500
    print(f"schemathesis: {cases} cases generated, all passed")
