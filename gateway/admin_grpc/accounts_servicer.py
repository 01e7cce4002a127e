"""AccountService over gRPC: a thin layer on the live `gateway.accounts.pool.AccountPool`.

The pool is the one the proxy routes with and `/v1/accounts` shows, so a drain here takes the
account out of rotation at once and is visible there. Entries come from the pool's own
`snapshot()` (the /v1/accounts rendering), never from credentials. Names, filters and pages
follow the pure `gateway.admin_grpc.listing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from aiohttp import web

from gateway.accounts.pool import POOL, AccountPool
from gateway.admin_grpc.listing import ListingError, boolean, choice, resource_id
from gateway.admin_grpc.status import bad_listing, filter_of, not_found, page_of, unavailable
from link_assistant_router_admin.v1 import accounts_pb2 as pb
from link_assistant_router_admin.v1 import accounts_pb2_grpc

Context: TypeAlias = Any  # grpc.aio.ServicerContext (grpcio ships no type stubs)

_STATES = {
    "healthy": pb.ACCOUNT_STATE_HEALTHY,
    "busy": pb.ACCOUNT_STATE_BUSY,
    "cooling_down": pb.ACCOUNT_STATE_COOLING_DOWN,
    "quota_exhausted": pb.ACCOUNT_STATE_QUOTA_EXHAUSTED,
    "unhealthy": pb.ACCOUNT_STATE_UNHEALTHY,
    "drained": pb.ACCOUNT_STATE_DRAINED,
}
FILTER_FIELDS = {"state": choice(*_STATES), "healthy": boolean}


def account_message(entry: Mapping[str, Any]) -> pb.Account:
    """One /v1/accounts entry as the proto message (unknown or missing fields take defaults)."""
    return pb.Account(
        name=f"accounts/{entry.get('name') or ''}",
        state=_STATES.get(str(entry.get("state") or ""), pb.ACCOUNT_STATE_UNSPECIFIED),
        healthy=bool(entry.get("healthy")),
        used=int(entry.get("used") or 0),
        last_error=str(entry.get("last_error") or ""),
        cooldown_remaining_seconds=float(entry.get("cooldown_remaining_seconds") or 0),
        credential_kind=str(entry.get("credential") or ""),
        home=str(entry.get("home") or ""),
        cooldown_reason=str(entry.get("cooldown_reason") or ""),
        in_flight=int(entry.get("in_flight") or 0),
    )


class AccountServicer(accounts_pb2_grpc.AccountServiceServicer):
    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def _pool(self, context: Context) -> AccountPool:
        pool = self._app.get(POOL)
        if pool is None:
            await unavailable(context, "the account pool is not running")
        return pool

    async def _name(self, name: str, context: Context) -> str:
        try:
            return resource_id(name, "accounts")
        except ListingError as exc:
            await bad_listing(context, exc)

    async def _entry(self, name: str, context: Context) -> pb.Account:
        pool = await self._pool(context)
        for entry in pool.snapshot():
            if entry.get("name") == name:
                return account_message(entry)
        await not_found(context, "account", name)

    async def _act(self, operation: str, resource: str, context: Context) -> pb.Account:
        name = await self._name(resource, context)
        pool = await self._pool(context)
        actions = {"drain": pool.drain, "resume": pool.resume, "reset_cooldown": pool.reset_cooldown}
        action = actions[operation]
        try:
            action(name)
        except KeyError:
            await not_found(context, "account", name)
        return await self._entry(name, context)

    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context: Context
    ) -> pb.ListAccountsResponse:
        wanted = await filter_of(context, request.filter, FILTER_FIELDS)
        pool = await self._pool(context)
        entries = [
            (index, entry)
            for index, entry in enumerate(pool.snapshot())
            if all(entry.get(key) == value for key, value in wanted.items())
        ]
        page = await page_of(context, entries, _order, request)
        return pb.ListAccountsResponse(
            accounts=[account_message(entry) for _, entry in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetAccount(self, request: pb.GetAccountRequest, context: Context) -> pb.Account:
        return await self._entry(await self._name(request.name, context), context)

    async def DrainAccount(self, request: pb.DrainAccountRequest, context: Context) -> pb.Account:
        return await self._act("drain", request.name, context)

    async def ResumeAccount(self, request: pb.ResumeAccountRequest, context: Context) -> pb.Account:
        return await self._act("resume", request.name, context)

    async def ResetAccountCooldown(
        self, request: pb.ResetAccountCooldownRequest, context: Context
    ) -> pb.Account:
        return await self._act("reset_cooldown", request.name, context)


def _order(indexed: tuple[int, Any]) -> str:
    """Configuration order: the position in the pool's snapshot."""
    return f"{indexed[0]:06d}"
