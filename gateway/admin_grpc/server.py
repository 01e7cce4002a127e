"""The admin gRPC server: grpc.aio on the gateway's own event loop, on its own port.

`start_admin_server` builds the server with every admin servicer, the admin-key interceptor,
standard health checking (SERVING; NOT_SERVING while stopping) and server reflection, binds
`host:port` (port 0 picks a free one) and returns it with the real port. `admin_grpc_ctx` is the
aiohttp cleanup_ctx that runs it for the life of the app when `server.admin_grpc_port` is set
(None turns it off). With `server.tls_cert_file` it serves TLS (mTLS with
`server.admin_grpc_client_ca_file`), the certificate re-read when its files change.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.admin_grpc.accounts_servicer import AccountServicer
from gateway.admin_grpc.auth import AdminAuthInterceptor
from gateway.admin_grpc.config_servicer import ConfigServicer
from gateway.admin_grpc.errors import AdminServerError
from gateway.admin_grpc.providers_servicer import ProviderServicer
from gateway.admin_grpc.tokens_servicer import TokenServicer
from gateway.admin_grpc.usage_servicer import UsageServicer
from gateway.adminauth import admin_key, is_loopback
from gateway.context import GATEWAY, GatewayContext
from gateway.listeners import prepare_socket_path, private_umask, remove_socket
from gateway.tlsfiles import RELOADERS, CertificateReloader, grpc_server_credentials
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

log = logging.getLogger(__name__)

ADMIN_GRPC_PORT = web.AppKey("admin_grpc_port", int)
"""The port the admin gRPC server bound (set while the app runs with the server on)."""
SERVICE_NAMES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (tokens_pb2, "TokenService"),
        (accounts_pb2, "AccountService"),
        (providers_pb2, "ProviderService"),
        (usage_pb2, "UsageService"),
        (config_pb2, "ConfigService"),
    )
)


@dataclass(frozen=True)
class AdminServer:
    server: aio.Server
    port: int
    health: health.aio.HealthServicer

    async def stop(self, grace: float = 1.0) -> None:
        """Report NOT_SERVING to health watchers first, then stop (in-flight calls get `grace` s)."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace=grace)


async def start_admin_server(
    app: web.Application,
    host: str,
    port: int | None,
    tls: CertificateReloader | None = None,
    socket_path: str | None = None,
) -> AdminServer:
    ctx = app[GATEWAY]
    server = aio.server(interceptors=[AdminAuthInterceptor(lambda: admin_key(ctx.config, ctx.environ))])
    registrations: tuple[tuple[Any, type], ...] = (
        (tokens_pb2_grpc.add_TokenServiceServicer_to_server, TokenServicer),
        (accounts_pb2_grpc.add_AccountServiceServicer_to_server, AccountServicer),
        (providers_pb2_grpc.add_ProviderServiceServicer_to_server, ProviderServicer),
        (usage_pb2_grpc.add_UsageServiceServicer_to_server, UsageServicer),
        (config_pb2_grpc.add_ConfigServiceServicer_to_server, ConfigServicer),
    )
    for register, servicer in registrations:
        register(servicer(app), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    bound = 0 if port is None else _bind_port(server, host, port, tls)
    if socket_path:  # plain gRPC: a socket never leaves the pod; its file mode decides who may connect
        _bind_socket(server, socket_path, ctx.config.server.socket_mode)
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    for name in SERVICE_NAMES:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return AdminServer(server, bound, health_servicer)


def _bind_port(server: aio.Server, host: str, port: int, tls: CertificateReloader | None) -> int:
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if tls is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, grpc_server_credentials(tls))
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise AdminServerError(
            f"cannot listen for admin gRPC on {address} (port in use or address not available; "
            "choose another with --admin-grpc-port, or 'off')"
        )
    return int(bound)


def _bind_socket(server: aio.Server, path: str, mode: int) -> None:
    """Bind `unix:path` owner-only, then widen it to `mode`, as the HTTP socket is."""
    try:
        prepare_socket_path(path)
        with private_umask():
            server.add_insecure_port(f"unix:{path}")
        os.chmod(path, mode)
    except (RuntimeError, OSError) as err:
        raise AdminServerError(f"cannot listen for admin gRPC on unix:{path} ({err})") from None


async def admin_grpc_ctx(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: serve admin gRPC while the app runs; stop it (1 s grace) on shutdown."""

    ctx = app[GATEWAY]
    server = ctx.config.server
    port, socket_path = server.admin_grpc_port, server.admin_grpc_socket
    if port is None and not socket_path:
        yield
        return
    tls = admin_tls(ctx)
    host = server.admin_grpc_bind_host
    plain_on_network = tls is None and not is_loopback(host if host not in ("localhost", "") else "127.0.0.1")
    if port is not None and plain_on_network:
        log.warning(
            "admin gRPC on %s is plaintext: the admin key crosses the network in clear "
            "(set TLS_CERT_FILE and TLS_KEY_FILE)",
            host,
        )
    admin = await start_admin_server(app, host, port, tls, socket_path)
    if tls is not None:
        app[RELOADERS].append(tls)
    if port is not None:
        app[ADMIN_GRPC_PORT] = admin.port
        log.info(
            "admin gRPC listening on %s:%d (%s)",
            host,
            admin.port,
            "mTLS" if tls and tls.requires_client_certificate else "TLS" if tls else "plaintext",
        )
    if socket_path:
        log.info("admin gRPC listening on unix:%s", socket_path)
    try:
        yield
    finally:
        await admin.stop()
        remove_socket(socket_path)


def admin_tls(ctx: GatewayContext) -> CertificateReloader | None:
    """The admin listener's certificate files, loaded; AdminServerError when they cannot be."""
    server = ctx.config.server
    if not server.tls_cert_file or not server.tls_key_file:
        return None
    try:
        ca_file = server.admin_grpc_client_ca_file
        return CertificateReloader(server.tls_cert_file, server.tls_key_file, ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise AdminServerError(f"cannot load the admin gRPC TLS files: {exc}") from exc
