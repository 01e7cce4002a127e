"""A real gateway with its admin gRPC server on 127.0.0.1:0, and stubs to call it.

async with grpc_gateway(config, env) as (gw, channel):
    tokens = tokens_pb2_grpc.TokenServiceStub(channel)
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import grpc

from dsl.model import RouterConfig
from gateway.admin_grpc.server import ADMIN_GRPC_PORT
from tests.support.gateway import RunningGateway, running_gateway


def with_admin_grpc(config: RouterConfig) -> RouterConfig:
    """The config with admin gRPC on a free loopback port."""
    server = dataclasses.replace(config.server, admin_grpc_host="127.0.0.1", admin_grpc_port=0)
    return dataclasses.replace(config, server=server)


def grpc_target(gw: RunningGateway) -> str:
    return f"127.0.0.1:{gw.app[ADMIN_GRPC_PORT]}"


@asynccontextmanager
async def grpc_gateway(
    config: RouterConfig,
    environ: Mapping[str, str] | None = None,
    reload_from: tuple[Callable[[], RouterConfig], Path | None] | None = None,
) -> AsyncIterator[tuple[RunningGateway, grpc.aio.Channel]]:
    async with (
        running_gateway(with_admin_grpc(config), environ, reload_from=reload_from) as gw,
        grpc.aio.insecure_channel(grpc_target(gw)) as channel,
    ):
        yield gw, channel
