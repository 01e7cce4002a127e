"""The HTTP token endpoints against a real gateway, driven with aiohttp and the official Anthropic SDK."""

from __future__ import annotations

import asyncio
import hmac
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import pytest

from gateway import adminauth
from gateway.errors import GatewayError
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.gateway import RunningGateway, gateway_config, running_gateway

MODEL = "claude-test-1"
ADMIN_KEY = "admin-key-for-tests-0123456789"


async def call(
    gw: RunningGateway,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            kwargs["json"] = body
        async with http.request(method, gw.url + path, **kwargs) as response:
            return response.status, await response.json()


async def ask(gw: RunningGateway, key: str) -> Any:
    async with anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0) as client:
        return await client.messages.create(
            model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
        )


async def test_issue_use_introspect_list_and_revoke_over_http(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        status, issued = await call(
            gw, "POST", "/api/tokens", {"ttl_hours": 1, "label": "alice ✓", "max_requests": 2}
        )
        assert status == 200
        assert {k: issued[k] for k in ("ttl_hours", "label", "account", "max_requests")} == {
            "ttl_hours": 1,
            "label": "alice ✓",
            "account": None,
            "max_requests": 2,
        }
        key, token_id = issued["token"], issued["id"]
        assert key.startswith("la_sk_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.")

        await ask(gw, key)
        await ask(gw, key)
        with pytest.raises(anthropic.RateLimitError) as spent:
            await ask(gw, key)
        assert spent.value.body == {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "Token has reached its request limit"},
        }
        assert len(fake.messages_requests()) == 2  # the refused call never reached the upstream

        status, own = await call(gw, "GET", "/api/tokens/self", headers={"x-api-key": key})
        assert status == 200
        assert (own["id"], own["used_requests"], own["remaining_requests"]) == (token_id, 2, 0)
        assert "token" not in own and key not in str(own)

        status, listing = await call(gw, "GET", "/api/tokens/list")
        assert status == 200
        [row] = [r for r in listing["data"] if r["id"] == token_id]
        assert (row["label"], row["used_requests"], row["max_requests"], row["revoked"]) == (
            "alice ✓",
            2,
            2,
            False,
        )
        assert key not in str(listing)

        assert await call(gw, "POST", "/api/tokens/revoke", {"id": token_id}) == (200, {"revoked": token_id})
        with pytest.raises(anthropic.PermissionDeniedError) as revoked:
            await ask(gw, key)
        assert revoked.value.body == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "Token has been revoked"},
        }


async def test_expire_endpoint_makes_the_key_expired_at_once(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        _, issued = await call(gw, "POST", "/api/tokens", {"label": "short"})
        await ask(gw, issued["token"])
        status, body = await call(gw, "POST", "/api/tokens/expire", {"id": issued["id"]})
        assert status == 200 and body["expired"] == issued["id"]
        with pytest.raises(anthropic.AuthenticationError) as expired:
            await ask(gw, issued["token"])
        assert expired.value.body["error"]["message"] == "Token has expired"  # type: ignore[index]


async def test_200_concurrent_sdk_requests_against_a_budget_of_50(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        key = await gw.issue_key(label="burst", max_requests=50)
        async with anthropic.AsyncAnthropic(base_url=gw.url, api_key=key, max_retries=0) as client:
            results = await asyncio.gather(
                *(
                    client.messages.create(
                        model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]
                    )
                    for _ in range(200)
                ),
                return_exceptions=True,
            )
        ok = [r for r in results if isinstance(r, anthropic.types.Message)]
        limited = [r for r in results if isinstance(r, anthropic.RateLimitError)]
        assert (len(ok), len(limited)) == (50, 150)
        assert len(fake.messages_requests()) == 50


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-key"}, 401),
        ({"Authorization": f"bearer {ADMIN_KEY}"}, 401),  # scheme is exact, like the seed
        ({"x-api-key": ADMIN_KEY}, 401),
        ({"Authorization": f"Bearer {ADMIN_KEY}"}, 200),
    ],
)
async def test_with_an_admin_key_every_caller_needs_it(
    fake: FakeAnthropic,
    claude_home: Path,
    tmp_path: Path,
    headers: dict[str, str],
    expected: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(adminauth.hmac, "compare_digest", spy)
    config = gateway_config(fake.url, tmp_path / "data", claude_home)
    async with running_gateway(config, {"TOKEN_ADMIN_KEY": ADMIN_KEY}) as gw:
        for method, path, body in (
            ("POST", "/api/tokens", {}),
            ("GET", "/api/tokens/list", None),
            ("POST", "/api/tokens/revoke", {"id": "x"}),
        ):
            status, answer = await call(gw, method, path, body, headers)
            if expected == 401:
                assert (status, answer) == (
                    401,
                    {
                        "type": "error",
                        "error": {
                            "type": "authentication_error",
                            "message": "missing or invalid admin Bearer key",
                        },
                    },
                )
            else:
                assert status in (200, 404), (path, answer)  # revoking an unknown id: 404
    if headers.get("Authorization", "").startswith("Bearer "):
        assert compared and all(b == ADMIN_KEY.encode() for _, b in compared)


async def test_bad_admin_requests_get_clear_400s(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        cases = [
            ("/api/tokens", None, b"{not json", "request body is not valid JSON"),
            ("/api/tokens", None, b"[" * 100_000, "request body is not valid JSON"),  # too deep to parse
            ("/api/tokens", ["list"], None, "request body must be a JSON object"),
            ("/api/tokens", {"ttl_hours": "24"}, None, "ttl_hours must be a non-negative integer"),
            ("/api/tokens", {"ttl_hours": -1}, None, "ttl_hours must be a non-negative integer"),
            ("/api/tokens", {"max_requests": 1.5}, None, "max_requests must be a non-negative integer"),
            ("/api/tokens", {"label": 7}, None, "label must be a string"),
            ("/api/tokens/revoke", {}, None, "non-empty string id"),
            ("/api/tokens/expire", {"id": "la_sk_eyJ0eXAi.e30.sig"}, None, "not the la_sk_ key itself"),
        ]
        for path, body, raw, fragment in cases:
            status, answer = await call(gw, "POST", path, body, raw=raw)
            assert status == 400, (body, answer)
            assert answer["error"]["type"] == "invalid_request_error"
            assert fragment in answer["error"]["message"]
        status, answer = await call(gw, "POST", "/api/tokens/revoke", {"id": "no-such-token"})
        assert (status, answer["error"]["type"]) == (404, "not_found_error")
        status, issued = await call(gw, "POST", "/api/tokens", raw=b"")  # empty body: all defaults
        assert (status, issued["ttl_hours"], issued["label"]) == (200, 24, "")


async def test_introspection_needs_a_valid_key(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        status, answer = await call(gw, "GET", "/api/tokens/self")
        assert (status, answer["error"]["type"]) == (401, "authentication_error")
        status, _ = await call(gw, "GET", "/api/tokens/self", headers={"Authorization": "Bearer la_sk_x.y.z"})
        assert status == 401


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("::ffff:10.0.0.5", False),
        ("2001:db8::1", False),
        (None, False),
        ("", False),
        ("localhost", False),
    ],
)
def test_without_an_admin_key_only_loopback_peers_are_admitted(peer: str | None, allowed: bool) -> None:
    if allowed:
        adminauth.check_admin(None, peer, None)
        return
    with pytest.raises(GatewayError) as info:
        adminauth.check_admin(None, peer, None)
    assert info.value.status == 403 and "TOKEN_ADMIN_KEY" in info.value.message


async def test_token_budget_is_spent_by_the_usage_the_upstream_reports(
    fake: FakeAnthropic, claude_home: Path, tmp_path: Path
) -> None:
    async with running_gateway(gateway_config(fake.url, tmp_path / "data", claude_home)) as gw:
        _, issued = await call(gw, "POST", "/api/tokens", {"max_tokens": 20})
        await ask(gw, issued["token"])  # the fake reports 12 input + 7 output tokens
        _, own = await call(gw, "GET", "/api/tokens/self", headers={"x-api-key": issued["token"]})
        assert (own["used_input_tokens"], own["used_output_tokens"], own["remaining_tokens"]) == (12, 7, 1)
        await ask(gw, issued["token"])  # 19 < 20: still admitted
        with pytest.raises(anthropic.RateLimitError) as spent:
            await ask(gw, issued["token"])
        assert spent.value.body["error"]["message"] == "Token has reached its token limit"  # type: ignore[index]
