"""TokenService over gRPC: a thin layer on the gateway's `gateway.tokens.service.TokenService`.

The same service object backs `/api/tokens` and the CLI, so every change is visible to all three
at once. Issue parameters are validated by `gateway.tokens.params.parse_issue`, like the other doors.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.admin_grpc.gen import tokens_pb2 as pb
from gateway.admin_grpc.gen import tokens_pb2_grpc
from gateway.admin_grpc.status import abort_for, invalid, not_found, unavailable
from gateway.errors import GatewayError
from gateway.telemetry.metrics import METRICS
from gateway.tokens.params import parse_issue
from gateway.tokens.records import TokenRecord
from gateway.tokens.service import TOKENS, TokenService

Context: TypeAlias = Any  # grpc.aio.ServicerContext (grpcio ships no type stubs)


def token_message(record: TokenRecord) -> pb.Token:
    message = pb.Token(
        id=record.id,
        label=record.label,
        issued_at=Timestamp(seconds=record.issued_at),
        expires_at=Timestamp(seconds=record.expires_at),
        revoked=record.revoked,
        account=record.account or "",
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


def issue_body(request: pb.IssueTokenRequest) -> dict[str, Any]:
    """The proto request as the HTTP API's JSON body, so both validate the same way."""
    body: dict[str, Any] = {"label": request.label, "account": request.account or None}
    for name in ("ttl_hours", "max_requests", "max_tokens", "rate_limit_per_minute"):
        if request.HasField(name):
            body[name] = getattr(request, name)
    return body


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

    async def IssueToken(self, request: pb.IssueTokenRequest, context: Context) -> pb.IssueTokenResponse:
        service = await self._service(context)
        try:
            params = parse_issue(issue_body(request))
            issued = await service.issue(
                ttl_hours=params.ttl_hours,
                label=params.label,
                account=params.account,
                max_requests=params.max_requests,
                max_tokens=params.max_tokens,
                rate_limit_per_minute=params.rate_limit_per_minute,
            )
        except GatewayError as exc:
            await abort_for(context, exc)
        self._issued()
        return pb.IssueTokenResponse(key=issued.token, token=token_message(issued.record))

    async def ListTokens(self, request: pb.ListTokensRequest, context: Context) -> pb.ListTokensResponse:
        service = await self._refreshed(context)
        return pb.ListTokensResponse(tokens=[token_message(r) for r in service.list()])

    async def GetToken(self, request: pb.GetTokenRequest, context: Context) -> pb.Token:
        token_id = await _id(request.id, context)
        service = await self._refreshed(context, token_id)
        record = service.get(token_id)
        if record is None:
            await not_found(context, "token", request.id)
        return token_message(record)

    async def RevokeToken(self, request: pb.RevokeTokenRequest, context: Context) -> pb.Token:
        message = await self._change("revoke", request.id, context)
        self._revoked()
        return message

    async def ExpireToken(self, request: pb.ExpireTokenRequest, context: Context) -> pb.Token:
        return await self._change("expire", request.id, context)

    async def _change(self, operation: str, token_id: str, context: Context) -> pb.Token:
        """Revoke or expire through the service; NOT_FOUND for an unknown id."""
        service = await self._service(context)
        change = service.revoke if operation == "revoke" else service.expire
        try:
            record = await change(await _id(token_id, context))
        except GatewayError as exc:
            await abort_for(context, exc)
        if record is None:
            await not_found(context, "token", token_id)
        return token_message(record)

    def _issued(self) -> None:
        metrics = self._app.get(METRICS)
        if metrics is not None:
            metrics.token_issued()

    def _revoked(self) -> None:
        metrics = self._app.get(METRICS)
        if metrics is not None:
            metrics.token_revoked()


async def _id(token_id: str, context: Context) -> str:
    if not token_id.strip():
        await invalid(context, "id is required (the token's UUID, as shown by ListTokens)")
    if token_id.strip().startswith("la_sk_"):
        await invalid(context, "id is the token's UUID (as shown by ListTokens), not the la_sk_ key itself")
    return token_id.strip()
