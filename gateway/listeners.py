"""Where the gateway listens: TCP `host:port`, a Unix domain socket, or both, on one aiohttp runner.

A sidecar's app talks to the gateway through the socket, so file permissions (mode 0660 by default:
the pod's shared group may connect, nobody else) decide who may call, and no port is exposed. The
socket file is created with a restrictive umask (no window in which it is world-connectable), a
stale socket left by a killed process is replaced, and the file is removed on shutdown. Only binding
lives here; the request path never asks which listener it came through except `socket_identity`.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from dsl.model import ServerConfig


class ListenError(OSError):
    """A listener could not be opened; the message names the address and is safe to print."""


@dataclass(frozen=True)
class Bound:
    """What the process actually listens on (port 0 resolved)."""

    tcp: tuple[str, int] | None
    socket: str | None
    https: bool = False
    """TLS on the TCP listener (the socket is always plain HTTP: it never leaves the pod)."""

    def urls(self) -> list[str]:
        urls = []
        if self.tcp is not None:
            host, port = self.tcp
            shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            urls.append(f"{'https' if self.https else 'http'}://{shown}:{port}")
        if self.socket is not None:
            urls.append(f"unix:{self.socket}")
        return urls


def listener_problems(server: ServerConfig) -> list[str]:
    """Settings that could not act as written; start-up refuses them rather than ignore them."""
    problems = []
    if not server.tcp and not server.socket:
        problems.append("DISABLE_TCP: TCP is off but no Unix socket is set (set ROUTER_SOCKET)")
    if server.default_key_file and not server.socket:
        problems.append(
            "ROUTER_DEFAULT_KEY_FILE: default-key-file binds the Unix socket to a key, but no socket is set "
            "(set ROUTER_SOCKET)"
        )
    return problems


def prepare_socket_path(path: str) -> None:
    """Make the parent directory; refuse to replace anything that is not a socket."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(target.lstat().st_mode):
            raise ListenError(f"cannot listen on unix:{path}: a file that is not a socket is in the way")
        target.unlink()  # stale socket from a process that did not shut down cleanly


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Create files owner-only; the caller widens to the configured mode afterwards with chmod."""
    old = os.umask(0o177)
    try:
        yield
    finally:
        os.umask(old)


def remove_socket(path: str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)


TcpSiteFactory = Callable[[web.AppRunner, str, int, "ssl.SSLContext | None"], web.TCPSite]


def _plain_tcp_site(
    runner: web.AppRunner, host: str, port: int, ssl_context: ssl.SSLContext | None
) -> web.TCPSite:
    return web.TCPSite(runner, host, port, ssl_context=ssl_context)


async def start_listeners(
    runner: web.AppRunner,
    server: ServerConfig,
    ssl_context: ssl.SSLContext | None = None,
    tcp_site: TcpSiteFactory = _plain_tcp_site,
) -> Bound:
    """Start every configured site on `runner` (already set up) and report what is bound; `tcp_site`
    makes the TCP site (serve passes one that guards connections)."""
    tcp: tuple[str, int] | None = None
    if server.tcp:
        site = tcp_site(runner, server.host, server.port, ssl_context)
        try:
            await site.start()
        except OSError as err:
            raise ListenError(f"cannot listen on {server.host}:{server.port}: {err.strerror}") from err
        tcp = _tcp_address(runner) or (server.host, server.port)
    if server.socket:
        prepare_socket_path(server.socket)
        try:
            with private_umask():
                await web.UnixSite(runner, server.socket).start()
        except OSError as err:
            raise ListenError(f"cannot listen on unix:{server.socket}: {err.strerror}") from err
        os.chmod(server.socket, server.socket_mode)
    return Bound(tcp, server.socket, ssl_context is not None)


def _tcp_address(runner: web.AppRunner) -> tuple[str, int] | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return str(address[0]), int(address[1])
    return None
