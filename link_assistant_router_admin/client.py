"""`AdminClient`: the admin API as typed async methods over one `grpc.aio` channel.

Methods take bare ids or full resource names (`7f3c…` or `tokens/7f3c…`), walk `List` pages for
the caller, raise `AdminError` (details decoded) instead of grpc's exception, and send the admin
key with every call. `watch_usage` reconnects after a dropped connection and resumes after the
last sequence it delivered, so a dashboard misses nothing the gateway still holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf import field_mask_pb2
from grpc import aio

from link_assistant_router_admin.channel import ChannelOptions, open_channel
from link_assistant_router_admin.errors import from_rpc_error
from link_assistant_router_admin.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    config_pb2,
    config_pb2_grpc,
    providers_pb2,
    providers_pb2_grpc,
    tokens_pb2,
    tokens_pb2_grpc,
    usage_pb2,
    usage_pb2_grpc,
)

T = TypeVar("T")
RECONNECTABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)


def resource(collection: str, ident: str) -> str:
    """`primary` → `accounts/primary`; a full name is kept as it is."""
    return ident if ident.startswith(f"{collection}/") else f"{collection}/{ident}"


def _stub(stub_class: Any, channel: aio.Channel) -> Any:
    """A generated stub (grpc's generated code is untyped; the messages have .pyi types)."""
    return stub_class(channel)


class AdminClient:
    def __init__(self, channel: aio.Channel, options: ChannelOptions) -> None:
        self._channel = channel
        self._metadata = options.metadata()
        self.tokens = _stub(tokens_pb2_grpc.TokenServiceStub, channel)
        self.accounts = _stub(accounts_pb2_grpc.AccountServiceStub, channel)
        self.providers = _stub(providers_pb2_grpc.ProviderServiceStub, channel)
        self.usage = _stub(usage_pb2_grpc.UsageServiceStub, channel)
        self.config = _stub(config_pb2_grpc.ConfigServiceStub, channel)

    @classmethod
    def connect(cls, target: str, **files: Any) -> AdminClient:
        """A client for `target` (HOST:PORT); `files` are `ChannelOptions.from_files` keywords."""
        options = ChannelOptions.from_files(target, **files)
        return cls(open_channel(options), options)

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        try:
            return await method(request, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    async def _pages(
        self, method: Callable[..., Awaitable[Any]], request: Any, field: str
    ) -> AsyncIterator[Any]:
        while True:
            page = await self._call(method, request)
            for item in getattr(page, field):
                yield item
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    # Tokens
    async def create_token(self, **params: Any) -> tokens_pb2.CreateTokenResponse:
        return await self._call(self.tokens.CreateToken, tokens_pb2.CreateTokenRequest(**params))

    async def get_token(self, token: str) -> tokens_pb2.Token:
        request = tokens_pb2.GetTokenRequest(name=resource("tokens", token))
        return await self._call(self.tokens.GetToken, request)

    def list_tokens(self, filter: str = "", page_size: int = 0) -> AsyncIterator[tokens_pb2.Token]:
        request = tokens_pb2.ListTokensRequest(filter=filter, page_size=page_size)
        return self._pages(self.tokens.ListTokens, request, "tokens")

    async def revoke_token(self, token: str) -> tokens_pb2.Token:
        request = tokens_pb2.RevokeTokenRequest(name=resource("tokens", token))
        return await self._call(self.tokens.RevokeToken, request)

    async def expire_token(self, token: str) -> tokens_pb2.Token:
        request = tokens_pb2.ExpireTokenRequest(name=resource("tokens", token))
        return await self._call(self.tokens.ExpireToken, request)

    # Accounts
    def list_accounts(self, filter: str = "", page_size: int = 0) -> AsyncIterator[accounts_pb2.Account]:
        request = accounts_pb2.ListAccountsRequest(filter=filter, page_size=page_size)
        return self._pages(self.accounts.ListAccounts, request, "accounts")

    async def get_account(self, name: str) -> accounts_pb2.Account:
        request = accounts_pb2.GetAccountRequest(name=resource("accounts", name))
        return await self._call(self.accounts.GetAccount, request)

    async def drain_account(self, name: str) -> accounts_pb2.Account:
        request = accounts_pb2.DrainAccountRequest(name=resource("accounts", name))
        return await self._call(self.accounts.DrainAccount, request)

    async def resume_account(self, name: str) -> accounts_pb2.Account:
        request = accounts_pb2.ResumeAccountRequest(name=resource("accounts", name))
        return await self._call(self.accounts.ResumeAccount, request)

    async def reset_account_cooldown(self, name: str) -> accounts_pb2.Account:
        request = accounts_pb2.ResetAccountCooldownRequest(name=resource("accounts", name))
        return await self._call(self.accounts.ResetAccountCooldown, request)

    # Providers
    def list_providers(self, filter: str = "", page_size: int = 0) -> AsyncIterator[providers_pb2.Provider]:
        request = providers_pb2.ListProvidersRequest(filter=filter, page_size=page_size)
        return self._pages(self.providers.ListProviders, request, "providers")

    async def get_provider(self, name: str) -> providers_pb2.Provider:
        request = providers_pb2.GetProviderRequest(name=resource("providers", name))
        return await self._call(self.providers.GetProvider, request)

    async def create_provider(self, provider_id: str, **fields: Any) -> providers_pb2.Provider:
        request = providers_pb2.CreateProviderRequest(
            provider_id=provider_id, provider=providers_pb2.Provider(**fields)
        )
        return await self._call(self.providers.CreateProvider, request)

    async def update_provider(self, name: str, **fields: Any) -> providers_pb2.Provider:
        """Change exactly the given fields (they become the update mask); the rest stay."""
        provider = providers_pb2.Provider(name=resource("providers", name), **fields)
        mask = field_mask_pb2.FieldMask(paths=sorted(fields))
        request = providers_pb2.UpdateProviderRequest(provider=provider, update_mask=mask)
        return await self._call(self.providers.UpdateProvider, request)

    async def delete_provider(self, name: str) -> None:
        request = providers_pb2.DeleteProviderRequest(name=resource("providers", name))
        await self._call(self.providers.DeleteProvider, request)

    # Usage
    async def get_usage(self) -> usage_pb2.UsageSnapshot:
        return await self._call(self.usage.GetUsage, usage_pb2.GetUsageRequest())

    async def watch_usage(
        self,
        after_sequence: int | None = None,
        *,
        account: str = "",
        route: str = "",
        errors_only: bool = False,
        reconnect: bool = True,
        retry_delay: float = 0.2,
    ) -> AsyncIterator[usage_pb2.UsageEvent]:
        """Usage events, reconnecting on a lost connection and resuming after the last sequence seen
        (from now on when `after_sequence` is None and nothing was seen yet)."""
        # Start from the feed's current end, so even a first connection that fails loses nothing.
        last = after_sequence if after_sequence is not None else (await self.get_usage()).last_sequence
        delay = retry_delay
        while True:
            request = usage_pb2.WatchUsageRequest(
                account=account, route=route, errors_only=errors_only, after_sequence=last
            )
            call = self.usage.WatchUsage(request, metadata=self._metadata)
            try:
                async for event in call:
                    last, delay = event.sequence, retry_delay
                    yield event
                return  # the server ended the stream
            except grpc.RpcError as exc:
                if not reconnect or exc.code() not in RECONNECTABLE:
                    raise from_rpc_error(exc) from None
            finally:
                call.cancel()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    # Config
    async def validate_config(
        self, text: str, filename: str = "", require_valid: bool = False
    ) -> config_pb2.ValidateConfigResponse:
        request = config_pb2.ValidateConfigRequest(text=text, filename=filename, require_valid=require_valid)
        return await self._call(self.config.ValidateConfig, request)

    async def get_effective_config(self) -> config_pb2.EffectiveConfig:
        return await self._call(self.config.GetEffectiveConfig, config_pb2.GetEffectiveConfigRequest())

    async def reload_config(self) -> config_pb2.ReloadConfigResponse:
        return await self._call(self.config.ReloadConfig, config_pb2.ReloadConfigRequest())
