"""TokenService over gRPC: a thin layer on the gateway's `gateway.tokens.service.TokenService`.

The same service object backs `/api/tokens` and the CLI, so every change is visible to all three
at once. Create parameters are validated by `gateway.tokens.params.parse_issue`, like the other
doors; names, filters and pages by the pure `gateway.admin_grpc.listing`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeAlias

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.admin_grpc.listing import ListingError, boolean, resource_id
from gateway.admin_grpc.status import abort_for, bad_listing, filter_of, not_found, page_of, unavailable
from gateway.errors import GatewayError
from gateway.telemetry.metrics import METRICS
from gateway.tokens.params import parse_issue
from gateway.tokens.records import TokenRecord
from gateway.tokens.service import TOKENS, TokenService
from link_assistant_router_admin.v1 import tokens_pb2 as pb
from link_assistant_router_admin.v1 import tokens_pb2_grpc

Context: TypeAlias = Any  # grpc.aio.ServicerContext (grpcio ships no type stubs)
CREATE_FIELDS = ("ttl_hours", "label", "account", "max_requests", "max_tokens", "rate_limit_per_minute")
FILTER_FIELDS: dict[str, Callable[[str], object]] = {
    "revoked": boolean,
    "expired": boolean,
    "account": str,
    "label": str,
}


def token_message(record: TokenRecord) -> pb.Token:
    message = pb.Token(
        name=f"tokens/{record.id}",
        uid=record.id,
        label=record.label,
        create_time=Timestamp(seconds=record.issued_at),
        expire_time=Timestamp(seconds=record.expires_at),
        revoked=record.revoked,
        account=f"accounts/{record.account}" if record.account else "",
        used_requests=record.used_requests,
        used_tokens=record.used_tokens,
    )
    if record.max_requests is not None:
        message.max_requests = record.max_requests
    if record.max_tokens is not None:
        message.max_tokens = record.max_tokens
    if record.rate_limit_per_minute is not None:
        message.rate_limit_per_minute = record.rate_limit_per_minute
    return message


def create_body(request: pb.CreateTokenRequest) -> dict[str, Any]:
    """The proto request as the HTTP API's JSON body, so both validate the same way."""
    account = request.account.removeprefix("accounts/")
    body: dict[str, Any] = {"label": request.label, "account": account or None}
    for name in ("ttl_hours", "max_requests", "max_tokens", "rate_limit_per_minute"):
        if request.HasField(name):
            body[name] = getattr(request, name)
    return body


def matches(record: TokenRecord, wanted: dict[str, object], now: float) -> bool:
    """Whether a record passes a parsed ListTokens filter."""
    facts: dict[str, object] = {
        "revoked": record.revoked,
        "expired": record.expires_at <= now,
        "account": record.account or "",
        "label": record.label,
    }
    return all(facts[key] == value for key, value in wanted.items())


def blamed_field(message: str) -> str | None:
    """The request field a parse_issue message is about (its messages start with the field name)."""
    first = message.split(" ", 1)[0]
    return first if first in CREATE_FIELDS else None


class TokenServicer(tokens_pb2_grpc.TokenServiceServicer):
    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def _service(self, context: Context) -> TokenService:
        service = self._app.get(TOKENS)
        if service is None:
            await unavailable(context, "the token service is not running")
        return service

    async def _refreshed(self, context: Context, token_id: str | None = None) -> TokenService:
        """The service, caught up with other processes' changes (a key the CLI just issued)."""
        service = await self._service(context)
        try:
            await service.refresh(token_id)
        except GatewayError as exc:
            await abort_for(context, exc)
        return service

    async def CreateToken(self, request: pb.CreateTokenRequest, context: Context) -> pb.CreateTokenResponse:
        service = await self._service(context)
        try:
            params = parse_issue(create_body(request))
            issued = await service.issue(
                ttl_hours=params.ttl_hours,
                label=params.label,
                account=params.account,
                max_requests=params.max_requests,
                max_tokens=params.max_tokens,
                rate_limit_per_minute=params.rate_limit_per_minute,
            )
        except GatewayError as exc:
            await abort_for(context, exc, blamed_field(exc.message))
        self._issued()
        return pb.CreateTokenResponse(key=issued.token, token=token_message(issued.record))

    async def ListTokens(self, request: pb.ListTokensRequest, context: Context) -> pb.ListTokensResponse:
        wanted = await filter_of(context, request.filter, FILTER_FIELDS)
        service = await self._refreshed(context)
        now = time.time()
        records = [r for r in service.list() if matches(r, wanted, now)]
        page = await page_of(context, records, _order, request)
        return pb.ListTokensResponse(
            tokens=[token_message(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetToken(self, request: pb.GetTokenRequest, context: Context) -> pb.Token:
        token_id = await _id(request.name, context)
        service = await self._refreshed(context, token_id)
        record = service.get(token_id)
        if record is None:
            await not_found(context, "token", request.name)
        return token_message(record)

    async def RevokeToken(self, request: pb.RevokeTokenRequest, context: Context) -> pb.Token:
        message = await self._change("revoke", request.name, context)
        self._revoked()
        return message

    async def ExpireToken(self, request: pb.ExpireTokenRequest, context: Context) -> pb.Token:
        return await self._change("expire", request.name, context)

    async def _change(self, operation: str, name: str, context: Context) -> pb.Token:
        """Revoke or expire through the service; NOT_FOUND for an unknown token."""
        token_id = await _id(name, context)
        service = await self._service(context)
        change = service.revoke if operation == "revoke" else service.expire
        try:
            record = await change(token_id)
        except GatewayError as exc:
            await abort_for(context, exc)
        if record is None:
            await not_found(context, "token", name)
        return token_message(record)

    def _issued(self) -> None:
        metrics = self._app.get(METRICS)
        if metrics is not None:
            metrics.token_issued()

    def _revoked(self) -> None:
        metrics = self._app.get(METRICS)
        if metrics is not None:
            metrics.token_revoked()


def _order(record: TokenRecord) -> str:
    """Oldest first; the id breaks ties within a second."""
    return f"{record.issued_at:020d}/{record.id}"


async def _id(name: str, context: Context) -> str:
    if name.strip().startswith("la_sk_"):
        await bad_listing(
            context,
            ListingError("name", "name is tokens/{token_id} (its UUID), not the la_sk_ key", "INVALID_NAME"),
        )
    try:
        return resource_id(name, "tokens")
    except ListingError as exc:
        await bad_listing(context, exc)
