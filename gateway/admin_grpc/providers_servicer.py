"""ProviderService over gRPC: a thin layer on the gateway's provider store (`providers.lenv`).

The same store backs `/api/providers` and the `providers` CLI. Input is validated by the pure
`gateway.providers.records.provider_input`, exactly as the HTTP API does; keys are write-only.
Store calls take a file lock and fsync, so they run in a worker thread, off the event loop.
UpdateProvider applies a FieldMask: the stored record's fields, with the masked ones replaced,
go through the same validation (`merged_body` is pure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias, TypeVar

import grpc
from aiohttp import web
from google.protobuf.empty_pb2 import Empty

from gateway.admin_grpc.listing import ListingError, boolean, resource_id
from gateway.admin_grpc.status import abort, abort_for, bad_listing, filter_of, invalid, not_found, page_of
from gateway.errors import GatewayError
from gateway.providers.records import ProviderRecord, provider_input
from gateway.providers.store import PROVIDERS, ProviderStore
from link_assistant_router_admin.v1 import providers_pb2 as pb
from link_assistant_router_admin.v1 import providers_pb2_grpc

T = TypeVar("T")
Context: TypeAlias = Any  # grpc.aio.ServicerContext (grpcio ships no type stubs)
MASKABLE = ("kind", "base_url", "model", "models", "enabled", "api_key", "api_key_env")
FILTER_FIELDS: dict[str, Callable[[str], object]] = {"enabled": boolean, "model": str}


def provider_message(record: ProviderRecord) -> pb.Provider:
    return pb.Provider(
        name=f"providers/{record.name}",
        kind=record.kind,
        base_url=record.base_url,
        model=record.default_model or "",
        models=list(record.models),
        enabled=record.enabled,
        has_api_key=bool(record.encrypted_api_key),
        api_key_env=record.api_key_env or "",
    )


def field_body(provider: pb.Provider, field: str) -> dict[str, Any]:
    """One proto field as the HTTP API's JSON body key (empty means unset)."""
    if field == "models":
        return {"models": list(provider.models)}
    if field == "enabled":
        return {"enabled": provider.enabled if provider.HasField("enabled") else None}
    if field == "model":
        return {"default_model": provider.model or None, "model": None}
    if field == "api_key":
        return {"api_key": provider.api_key or None, "encrypted_api_key": None}
    return {field: getattr(provider, field) or None}


def create_body(name: str, provider: pb.Provider) -> dict[str, Any]:
    """The proto provider as the HTTP API's JSON body, so both validate the same way."""
    body: dict[str, Any] = {"name": name}
    for field in MASKABLE:
        body.update(field_body(provider, field))
    return body


def merged_body(current: ProviderRecord, provider: pb.Provider, paths: Iterable[str]) -> dict[str, Any]:
    """The stored record with the masked fields replaced; an unmasked field keeps its value
    (the encrypted key included, unless `api_key` is masked)."""
    body: dict[str, Any] = current.to_json()
    for field in paths:
        body.update(field_body(provider, field))
    return body


def mask_paths(paths: Iterable[str]) -> list[str]:
    """The mask's paths; empty or `*` means every updatable field. Raises ListingError on others."""
    given = list(paths)
    if not given or given == ["*"]:
        return list(MASKABLE)
    unknown = [p for p in given if p not in MASKABLE]
    if unknown:
        raise ListingError(
            "update_mask.paths",
            f"cannot update {', '.join(unknown)}: updatable fields are {', '.join(MASKABLE)}",
            "INVALID_FIELD_MASK",
        )
    return given


def matches(record: ProviderRecord, wanted: dict[str, object]) -> bool:
    if "enabled" in wanted and record.enabled != wanted["enabled"]:
        return False
    return "model" not in wanted or wanted["model"] in (*record.models, record.default_model)


async def _call(method: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(method, *args)


class ProviderServicer(providers_pb2_grpc.ProviderServiceServicer):
    def __init__(self, app: web.Application) -> None:
        self._app = app

    def _store(self) -> ProviderStore:
        return self._app[PROVIDERS]

    async def _store_call(self, context: Context, method: Callable[..., T], *args: Any) -> T:
        try:
            return await _call(method, *args)
        except GatewayError as exc:
            await abort_for(context, exc)

    async def CreateProvider(self, request: pb.CreateProviderRequest, context: Context) -> pb.Provider:
        store = self._store()
        if not request.provider_id:
            await invalid(context, "provider_id is required", "provider_id")
        try:
            entry = provider_input(create_body(request.provider_id, request.provider))
        except GatewayError as exc:
            await abort_for(context, exc, _blamed(exc.message, "provider"))
        if await self._store_call(context, store.get, entry.record.name) is not None:
            await abort(
                context,
                grpc.StatusCode.ALREADY_EXISTS,
                f"provider already exists: providers/{entry.record.name} (use UpdateProvider)",
                "PROVIDER_EXISTS",
            )
        record = await self._store_call(context, store.upsert, entry)
        return provider_message(record)

    async def ListProviders(
        self, request: pb.ListProvidersRequest, context: Context
    ) -> pb.ListProvidersResponse:
        wanted = await filter_of(context, request.filter, FILTER_FIELDS)
        records = [r for r in await self._store_call(context, self._store().list) if matches(r, wanted)]
        page = await page_of(context, records, lambda r: r.name, request)
        return pb.ListProvidersResponse(
            providers=[provider_message(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetProvider(self, request: pb.GetProviderRequest, context: Context) -> pb.Provider:
        name = await _name(request.name, context)
        record = await self._store_call(context, self._store().get, name)
        if record is None:
            await not_found(context, "provider", request.name)
        return provider_message(record)

    async def UpdateProvider(self, request: pb.UpdateProviderRequest, context: Context) -> pb.Provider:
        name = await _name(request.provider.name, context, "provider.name")
        try:
            paths = mask_paths(request.update_mask.paths)
        except ListingError as exc:
            await bad_listing(context, exc)
        store = self._store()
        current = await self._store_call(context, store.get, name)
        if current is None:
            await not_found(context, "provider", request.provider.name)
        try:
            entry = provider_input(merged_body(current, request.provider, paths))
        except GatewayError as exc:
            await abort_for(context, exc, _blamed(exc.message, "provider"))
        record = await self._store_call(context, store.upsert, entry)
        return provider_message(record)

    async def DeleteProvider(self, request: pb.DeleteProviderRequest, context: Context) -> Empty:
        name = await _name(request.name, context)
        if not await self._store_call(context, self._store().remove, name):
            await not_found(context, "provider", request.name)
        return Empty()


def _blamed(message: str, prefix: str) -> str | None:
    """The request field a provider validation message is about, when it names one."""
    for field in ("base_url", "kind", "models", "enabled", "api_key_env", "name"):
        if field in message:
            return f"{prefix}.{field}" if field != "name" else "provider_id"
    return None


async def _name(name: str, context: Context, field: str = "name") -> str:
    try:
        return resource_id(name, "providers", field)
    except ListingError as exc:
        await bad_listing(context, exc)
