"""One validation for a new key's parameters, whichever door issues it (HTTP, gRPC, CLI).

Bounds keep every stored number representable wherever a record goes; before them a key issued over
HTTP with a budget above 2**64 made every gRPC ListTokens fail for every admin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from gateway.cli.main import main
from gateway.errors import GatewayError
from gateway.tokens.params import MAX_BUDGET, MAX_RATE_PER_MINUTE, MAX_TTL_HOURS, IssueParams, parse_issue
from link_assistant_router_admin.v1 import tokens_pb2, tokens_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import gateway_config

from .helpers import SECRET


@pytest.mark.parametrize(
    ("body", "params"),
    [
        (None, IssueParams()),
        ({}, IssueParams()),
        ({"label": None}, IssueParams()),
        ({"label": "ci ✓", "account": "alpha"}, IssueParams(label="ci ✓", account="alpha")),
        ({"ttl_hours": 0, "max_requests": 0}, IssueParams(ttl_hours=0, max_requests=0)),
        (
            {
                "ttl_hours": MAX_TTL_HOURS,
                "max_requests": MAX_BUDGET,
                "max_tokens": MAX_BUDGET,
                "rate_limit_per_minute": MAX_RATE_PER_MINUTE,
            },
            IssueParams(
                ttl_hours=MAX_TTL_HOURS,
                max_requests=MAX_BUDGET,
                max_tokens=MAX_BUDGET,
                rate_limit_per_minute=MAX_RATE_PER_MINUTE,
            ),
        ),
    ],
)
def test_accepted(body: object, params: IssueParams) -> None:
    assert parse_issue(body) == params


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "request body must be a JSON object"),
        ({"label": 7}, "label must be a string of at most 1024 characters"),
        ({"label": "x" * 1025}, "label must be a string of at most 1024 characters"),
        ({"account": ""}, "account must be a non-empty string or null"),
        ({"ttl_hours": MAX_TTL_HOURS + 1}, f"and at most {MAX_TTL_HOURS}"),
        ({"ttl_hours": "24"}, "ttl_hours must be a non-negative integer"),
        ({"max_requests": -1}, "max_requests must be a non-negative integer"),
        ({"max_requests": True}, "max_requests must be a non-negative integer"),
        ({"max_requests": 2**64}, f"max_requests must be a non-negative integer and at most {MAX_BUDGET}"),
        ({"max_tokens": 1.5}, "max_tokens must be a non-negative integer"),
        ({"rate_limit_per_minute": 2**32}, f"and at most {MAX_RATE_PER_MINUTE}"),
    ],
)
def test_refused_with_the_field_named(body: object, message: str) -> None:
    with pytest.raises(GatewayError) as refused:
        parse_issue(body)
    assert refused.value.status == 400 and message in refused.value.message


async def test_http_refuses_out_of_range_budgets_and_grpc_lists_the_largest_allowed(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    config = gateway_config(fake.url, tmp_path / "data", claude_home)
    async with grpc_gateway(config, {}) as (gw, channel), aiohttp.ClientSession() as http:
        tokens = tokens_pb2_grpc.TokenServiceStub(channel)
        async with http.post(f"{gw.url}/api/tokens", json={"max_requests": 2**64}) as refused:
            assert refused.status == 400
        largest = {"max_requests": MAX_BUDGET, "max_tokens": MAX_BUDGET}
        largest["rate_limit_per_minute"] = MAX_RATE_PER_MINUTE
        async with http.post(f"{gw.url}/api/tokens", json=largest) as accepted:
            assert accepted.status == 200
        listed = await tokens.ListTokens(tokens_pb2.ListTokensRequest())
        [token] = listed.tokens
        assert (token.max_requests, token.rate_limit_per_minute) == (MAX_BUDGET, MAX_RATE_PER_MINUTE)
        with pytest.raises(grpc.aio.AioRpcError) as too_long:
            await tokens.CreateToken(tokens_pb2.CreateTokenRequest(label="x" * 1025))
        assert too_long.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_cli_refuses_what_http_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOKEN_SECRET", SECRET)
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["tokens", "issue", "--label", "x" * 1025, *data]) == 1
    assert capsys.readouterr().err == "error: label must be a string of at most 1024 characters\n"
    assert main(["tokens", "issue", "--max-requests", str(2**64), *data]) == 1
    assert "max_requests must be a non-negative integer and at most" in capsys.readouterr().err
    assert main(["tokens", "list", *data]) == 0
    listing: Any = capsys.readouterr().out.splitlines()
    assert len(listing) == 1  # the header only: nothing was issued
