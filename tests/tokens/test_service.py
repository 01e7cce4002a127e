"""Authorization order, budgets under concurrency, expire vs revoke, rate and token limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dsl.model import StoragePolicy, TokenDefaults
from gateway.errors import GatewayError
from gateway.tokens import jwt_codec
from gateway.tokens.jwt_codec import Claims
from gateway.tokens.records import Denial, TokenRecord, admission
from gateway.tokens.service import TokenService
from gateway.tokens.state import MemoryTokenStore

from .helpers import SECRET, FakeClock, bearer, open_service


async def refused(service: TokenService, headers: dict[str, str]) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        await service.authorize(headers)
    return info.value


@pytest.mark.parametrize("policy", [StoragePolicy.MEMORY, StoragePolicy.BOTH])
async def test_200_concurrent_authorizations_against_a_budget_of_50_admit_exactly_50(
    tmp_path: Path, policy: StoragePolicy
) -> None:
    service = await open_service(tmp_path, policy)
    try:
        issued = await service.issue(label="budget", max_requests=50)
        results = await asyncio.gather(
            *(service.authorize(bearer(issued.token)) for _ in range(200)), return_exceptions=True
        )
        admitted = [r for r in results if isinstance(r, TokenRecord)]
        rejected = [r for r in results if isinstance(r, GatewayError)]
        assert len(admitted) == 50 and len(rejected) == 150
        assert {(e.status, e.error_type, e.message) for e in rejected} == {
            (429, "rate_limit_error", "Token has reached its request limit")
        }
        assert service.get(issued.record.id).used_requests == 50  # type: ignore[union-attr]
    finally:
        await service.close()
    if policy is StoragePolicy.BOTH:
        reopened = await open_service(tmp_path, policy)
        assert reopened.get(issued.record.id).used_requests == 50  # type: ignore[union-attr]
        await reopened.close()


async def test_validation_order_and_status_codes(tmp_path: Path) -> None:
    clock = FakeClock()
    service = TokenService(MemoryTokenStore(), SECRET, clock=clock)
    issued = await service.issue(label="order", ttl_hours=1, max_requests=1)
    assert (await refused(service, {})).status == 401
    assert (await refused(service, bearer("nope"))).message == "Token must start with 'la_sk_' prefix"
    await service.revoke(issued.record.id)
    # Revoked beats budget (and a revoked key spends nothing).
    err = await refused(service, bearer(issued.token))
    assert (err.status, err.error_type) == (403, "authentication_error")
    assert err.message == "Token has been revoked"
    clock.now += 3600 + 61  # expiry (checked before the record) beats revocation
    assert (await refused(service, {"x-api-key": issued.token})).message == "Token has expired"


async def test_expire_really_expires_without_leeway_and_is_not_a_revoke() -> None:
    clock = FakeClock()
    service = TokenService(MemoryTokenStore(), SECRET, clock=clock)
    issued = await service.issue(label="temp", ttl_hours=24)
    await service.authorize(bearer(issued.token))
    expired = await service.expire(issued.record.id)
    assert expired is not None and expired.expires_at == int(clock.now) and not expired.revoked
    err = await refused(service, bearer(issued.token))
    assert (err.status, err.message) == (401, "Token has expired")
    assert await service.expire("no-such-id") is None


async def test_ttl_zero_token_lives_through_the_seeds_leeway_only() -> None:
    clock = FakeClock()
    service = TokenService(MemoryTokenStore(), SECRET, clock=clock)
    issued = await service.issue(ttl_hours=0)
    clock.now += 59
    await service.authorize(bearer(issued.token))
    clock.now += 2
    assert (await refused(service, bearer(issued.token))).message == "Token has expired"


async def test_token_budget_counts_input_and_output_tokens() -> None:
    service = TokenService(MemoryTokenStore(), SECRET, clock=FakeClock())
    issued = await service.issue(max_tokens=100)
    await service.authorize(bearer(issued.token))
    await service.record_usage(issued.record.id, 60, 39)
    await service.authorize(bearer(issued.token))  # 99 < 100: still admitted
    await service.record_usage(issued.record.id, 0, 1)
    err = await refused(service, bearer(issued.token))
    assert (err.status, err.message) == (429, "Token has reached its token limit")


async def test_rate_limit_per_minute_slides_and_says_when_to_retry() -> None:
    clock = FakeClock()
    service = TokenService(MemoryTokenStore(), SECRET, clock=clock)
    issued = await service.issue(rate_limit_per_minute=3)
    for step in range(3):
        clock.now += step * 10  # at t+0, t+10, t+30
        await service.authorize(bearer(issued.token))
    err = await refused(service, bearer(issued.token))
    assert (err.status, err.headers) == (429, {"retry-after": "30"})  # oldest (t+0) leaves at t+60
    clock.now += 30
    await service.authorize(bearer(issued.token))
    # A refused request does not count towards the window or the request total.
    assert service.get(issued.record.id).used_requests == 4  # type: ignore[union-attr]


async def test_defaults_from_config_apply_to_issued_tokens() -> None:
    defaults = TokenDefaults(ttl_hours=2, max_requests=9, max_tokens=1000, rate_limit_per_minute=60)
    service = TokenService(MemoryTokenStore(), SECRET, defaults, clock=FakeClock())
    issued = await service.issue()
    assert issued.ttl_hours == 2 and issued.record.expires_at - issued.record.issued_at == 7200
    assert (issued.record.max_requests, issued.record.max_tokens, issued.record.rate_limit_per_minute) == (
        9,
        1000,
        60,
    )


async def test_introspection_shows_usage_without_spending_budget() -> None:
    service = TokenService(MemoryTokenStore(), SECRET, clock=FakeClock())
    issued = await service.issue(max_requests=1)
    await service.authorize(bearer(issued.token))
    await refused(service, bearer(issued.token))  # budget exhausted...
    record = await service.introspect(bearer(issued.token))  # ...but the holder can still look
    assert record.used_requests == 1
    await service.revoke(issued.record.id)
    assert (await _introspect_error(service, issued.token)).status == 403


async def _introspect_error(service: TokenService, token: str) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        await service.introspect(bearer(token))
    return info.value


async def test_a_validly_signed_token_without_a_record_is_accepted_like_the_seed() -> None:
    service = TokenService(MemoryTokenStore(), SECRET, clock=FakeClock())
    token = jwt_codec.encode(
        Claims(sub="elsewhere", iat=1_781_000_000, exp=1_781_003_600, label="l", account="acc"), SECRET
    )
    record = await service.authorize(bearer(token))
    assert (record.id, record.label, record.account, record.max_requests) == ("elsewhere", "l", "acc", None)


async def test_the_signature_cache_never_skips_expiry_or_revocation() -> None:
    clock = FakeClock()
    service = TokenService(MemoryTokenStore(), SECRET, clock=clock)
    issued = await service.issue(ttl_hours=1)
    await service.authorize(bearer(issued.token))
    await service.revoke(issued.record.id)
    assert (await refused(service, bearer(issued.token))).status == 403
    other = await service.issue(ttl_hours=1)
    await service.authorize(bearer(other.token))
    clock.now += 3600 + 61
    assert (await refused(service, bearer(other.token))).status == 401


@pytest.mark.parametrize(
    ("record", "now", "recent", "expected"),
    [
        (TokenRecord(id="a", expires_at=100), 160, 0, None),  # JWT expiry keeps 60 s leeway
        (TokenRecord(id="a", expires_at=100), 161, 0, Denial.EXPIRED),
        (TokenRecord(id="a", expires_at=50), 50, 0, Denial.EXPIRED),  # admin-shortened: no leeway
        (TokenRecord(id="a", expires_at=50), 49, 0, None),
        (TokenRecord(id="a", expires_at=100, revoked=True, max_requests=0), 0, 0, Denial.REVOKED),
        (TokenRecord(id="a", expires_at=100, max_requests=3, used_requests=3), 0, 0, Denial.REQUEST_BUDGET),
        (
            TokenRecord(id="a", expires_at=100, max_tokens=10, used_input_tokens=4, used_output_tokens=6),
            0,
            0,
            Denial.TOKEN_BUDGET,
        ),
        (TokenRecord(id="a", expires_at=100, rate_limit_per_minute=2), 0, 2, Denial.RATE_LIMIT),
        (TokenRecord(id="a", expires_at=100, rate_limit_per_minute=2), 0, 1, None),
    ],
)
def test_admission_table(record: TokenRecord, now: float, recent: int, expected: Denial | None) -> None:
    assert admission(record, jwt_exp=100, now=now, recent_requests=recent) == expected


async def test_admin_reads_and_changes_see_a_key_another_process_just_issued(tmp_path: Path) -> None:
    """The server polls the journal only every 200 ms; admin doors must not wait for that poll."""
    server = await open_service(tmp_path / "data", poll_interval=3600.0)  # no poll during the test
    cli = await open_service(tmp_path / "data")
    try:
        listed = await cli.issue(label="listed at once")
        revoked = await cli.issue(label="revoked at once")
        expired = await cli.issue(label="expired at once")
        await server.refresh()
        assert server.get(listed.record.id) is not None
        assert {r.label for r in server.list()} == {"listed at once", "revoked at once", "expired at once"}
        third = await cli.issue(label="not yet refreshed")
        assert (await server.revoke(revoked.record.id)) is not None  # revoke catches up by itself
        assert (await server.expire(expired.record.id)) is not None
        assert server.get(third.record.id) is not None  # caught up along with the revoke
        with pytest.raises(GatewayError) as denied:
            await server.authorize(bearer(revoked.token))
        assert denied.value.status == 403
    finally:
        await cli.close()
        await server.close()
