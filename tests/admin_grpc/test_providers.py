"""Providers over gRPC share the store with /api/providers; keys are write-only everywhere."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import grpc
import pytest

from dsl.model import RouterConfig
from link_assistant_router_admin.v1 import providers_pb2 as pb
from link_assistant_router_admin.v1 import providers_pb2_grpc
from tests.support.admin_grpc import grpc_gateway
from tests.support.two_accounts import ACCOUNT_ENV

INLINE_KEY = "sk-litellm-inline-secret-123"


async def test_upsert_is_visible_over_http_and_the_key_never_comes_back(
    config: RouterConfig, tmp_path: Path
) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (gw, channel):
        providers = providers_pb2_grpc.ProviderServiceStub(channel)
        stored = await providers.CreateProvider(
            pb.CreateProviderRequest(
                provider_id="litellm",
                provider=pb.Provider(
                    base_url="http://127.0.0.1:4000/v1/",
                    model="claude-sonnet",
                    models=["claude-sonnet", "gpt-4o"],
                    api_key=INLINE_KEY,
                ),
            )
        )
        assert stored.base_url == "http://127.0.0.1:4000/v1" and stored.has_api_key and stored.enabled
        assert stored.kind == "openai-compatible" and list(stored.models) == ["claude-sonnet", "gpt-4o"]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{gw.url}/api/providers/litellm") as response:
                shown = await response.json()
                assert response.status == 200 and shown["has_encrypted_api_key"] is True
                assert INLINE_KEY not in await response.text()
            async with http.post(
                f"{gw.url}/api/providers", json={"name": "vllm", "base_url": "http://127.0.0.1:8000/v1"}
            ) as response:
                assert response.status == 200
        listed = await providers.ListProviders(pb.ListProvidersRequest())
        assert [p.name for p in listed.providers] == ["providers/litellm", "providers/vllm"]
        assert INLINE_KEY not in str(listed)
        assert INLINE_KEY not in (tmp_path / "data" / "providers.lenv").read_text()

        await providers.DeleteProvider(pb.DeleteProviderRequest(name="providers/vllm"))
        async with aiohttp.ClientSession() as http, http.get(f"{gw.url}/api/providers/vllm") as response:
            assert response.status == 404


async def test_provider_errors_use_grpc_codes(config: RouterConfig) -> None:
    async with grpc_gateway(config, ACCOUNT_ENV) as (_gw, channel):
        providers = providers_pb2_grpc.ProviderServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as bad_url:
            await providers.CreateProvider(
                pb.CreateProviderRequest(provider_id="x", provider=pb.Provider(base_url="ftp://nope"))
            )
        assert bad_url.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "base_url" in (bad_url.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as bad_name:
            await providers.CreateProvider(
                pb.CreateProviderRequest(
                    provider_id="has space", provider=pb.Provider(base_url="http://h/v1")
                )
            )
        assert bad_name.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        for call in (
            providers.GetProvider(pb.GetProviderRequest(name="providers/ghost")),
            providers.DeleteProvider(pb.DeleteProviderRequest(name="providers/ghost")),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await call
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
