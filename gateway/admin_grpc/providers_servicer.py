"""ProviderService over gRPC: a thin layer on the gateway's provider store (`providers.lenv`).

The same store backs `/api/providers` and the `providers` CLI. Input is validated by the pure
`gateway.providers.records.provider_input`, exactly as the HTTP API does; keys are write-only.
Store calls take a file lock and fsync, so they run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from aiohttp import web

from gateway.admin_grpc.gen import providers_pb2 as pb
from gateway.admin_grpc.gen import providers_pb2_grpc
from gateway.admin_grpc.status import abort_for, invalid, not_found
from gateway.errors import GatewayError
from gateway.providers.records import ProviderRecord, provider_input
from gateway.providers.store import PROVIDERS, ProviderStore

T = TypeVar("T")
Context: TypeAlias = Any  # grpc.aio.ServicerContext (grpcio ships no type stubs)


def provider_message(record: ProviderRecord) -> pb.Provider:
    return pb.Provider(
        name=record.name,
        kind=record.kind,
        base_url=record.base_url,
        model=record.default_model or "",
        models=list(record.models),
        enabled=record.enabled,
        has_api_key=bool(record.encrypted_api_key),
        api_key_env=record.api_key_env or "",
    )


def upsert_body(request: pb.UpsertProviderRequest) -> dict[str, Any]:
    """The proto request as the HTTP API's JSON body, so both validate the same way."""
    return {
        "name": request.name,
        "kind": request.kind or None,
        "base_url": request.base_url,
        "model": request.model or None,
        "models": list(request.models),
        "enabled": request.enabled if request.HasField("enabled") else None,
        "api_key": request.api_key or None,
        "api_key_env": request.api_key_env or None,
    }


async def _call(method: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(method, *args)


class ProviderServicer(providers_pb2_grpc.ProviderServiceServicer):
    def __init__(self, app: web.Application) -> None:
        self._app = app

    def _store(self) -> ProviderStore:
        return self._app[PROVIDERS]

    async def ListProviders(
        self, request: pb.ListProvidersRequest, context: Context
    ) -> pb.ListProvidersResponse:
        store = self._store()
        records = await _call(store.list)
        return pb.ListProvidersResponse(providers=[provider_message(r) for r in records])

    async def GetProvider(self, request: pb.GetProviderRequest, context: Context) -> pb.Provider:
        store = self._store()
        if not request.name:
            await invalid(context, "name is required")
        record = await _call(store.get, request.name)
        if record is None:
            await not_found(context, "provider", request.name)
        return provider_message(record)

    async def UpsertProvider(self, request: pb.UpsertProviderRequest, context: Context) -> pb.Provider:
        store = self._store()
        try:
            record = await _call(store.upsert, provider_input(upsert_body(request)))
        except GatewayError as exc:
            await abort_for(context, exc)
        return provider_message(record)

    async def DeleteProvider(
        self, request: pb.DeleteProviderRequest, context: Context
    ) -> pb.DeleteProviderResponse:
        store = self._store()
        if not request.name:
            await invalid(context, "name is required")
        removed = await _call(store.remove, request.name)
        if not removed:
            await not_found(context, "provider", request.name)
        return pb.DeleteProviderResponse(deleted=request.name)
