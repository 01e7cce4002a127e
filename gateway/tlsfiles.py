"""TLS for both listeners from certificate files that are re-read when they change.

A `CertificateReloader` owns one (certificate, key[, client CA]) set of PEM files. It is checked
at every new connection: the HTTP listener asks from its SNI callback (which OpenSSL runs for
every ClientHello, with or without a server name) and hands the handshake the current context;
the gRPC listener asks from grpc's certificate fetcher, which grpc calls before each handshake.
A changed file (mtime, size or inode, as when a Kubernetes Secret is remounted) is loaded; a
half-written pair that does not load keeps the previous one until the next connection retries.
Existing connections keep the certificate they started with.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    import grpc

log = logging.getLogger(__name__)
Stamp = tuple[tuple[int, int, int], ...]


class CertificateReloader:
    def __init__(self, cert_file: str, key_file: str, client_ca_file: str | None = None) -> None:
        self.cert_file = Path(cert_file).expanduser()
        self.key_file = Path(key_file).expanduser()
        self._ca = Path(client_ca_file).expanduser() if client_ca_file else None
        self.version = 0
        """Counts loads; consumers compare it to know when to hand out the new certificate."""
        self.failures = 0
        """Changed files that could not be loaded (the reload-failure metric reads it)."""
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.pem: tuple[bytes, bytes, bytes | None] = (b"", b"", None)
        self._stamp: Stamp = ()
        self.reload()  # unreadable or mismatched files fail start-up, loudly

    @property
    def requires_client_certificate(self) -> bool:
        return self._ca is not None

    def _files(self) -> list[Path]:
        return [self.cert_file, self.key_file, *([self._ca] if self._ca else [])]

    def _stamp_now(self) -> Stamp:
        stats = [os.stat(path) for path in self._files()]
        return tuple((st.st_mtime_ns, st.st_size, st.st_ino) for st in stats)

    def reload(self) -> None:
        """Load the files now; OSError or ssl.SSLError when they are missing or do not match."""
        stamp = self._stamp_now()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        if self._ca is not None:
            context.load_verify_locations(cafile=str(self._ca))
            context.verify_mode = ssl.CERT_REQUIRED
        pem = (
            self.cert_file.read_bytes(),
            self.key_file.read_bytes(),
            self._ca.read_bytes() if self._ca else None,
        )
        self.ssl_context, self.pem, self._stamp = context, pem, stamp
        self.version += 1

    def refresh(self) -> bool:
        """Reload when a file changed since the last load; True when a new certificate is in use."""
        try:
            if self._stamp_now() == self._stamp:
                return False
            self.reload()
        except (OSError, ssl.SSLError) as exc:
            self.failures += 1
            log.warning("TLS files changed but cannot be loaded yet (keeping the previous ones): %s", exc)
            return False
        log.info("TLS certificate reloaded from %s", self.cert_file)
        return True


def http_ssl_context(reloader: CertificateReloader) -> ssl.SSLContext:
    """The listening context of the HTTP site: every handshake gets the reloader's current one."""
    listening = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    listening.load_cert_chain(reloader.cert_file, reloader.key_file)  # what a handshake starts with

    def pick(connection: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> None:
        reloader.refresh()
        connection.context = reloader.ssl_context

    listening.sni_callback = pick
    return listening


def grpc_server_credentials(reloader: CertificateReloader) -> grpc.ServerCredentials:
    """Server credentials that pick up a changed certificate (and client CA) at the next handshake."""
    import grpc  # here, not at the top: the HTTP listener's TLS must not load gRPC (sidecar start-up)

    def configuration() -> Any:
        cert, key, ca = reloader.pem
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    served = [reloader.version]

    def fetch() -> Any:
        reloader.refresh()
        if reloader.version == served[0]:
            return None  # no change: grpc keeps the current configuration
        served[0] = reloader.version
        return configuration()

    fetcher: Callable[[], Any] = fetch
    return grpc.dynamic_ssl_server_credentials(
        configuration(), fetcher, require_client_authentication=reloader.requires_client_certificate
    )


def tls_problem(cert_file: str | None, key_file: str | None, client_ca_file: str | None) -> str | None:
    """Why these TLS settings cannot work together, or None. Pure."""
    if bool(cert_file) != bool(key_file):
        return "TLS needs both TLS_CERT_FILE and TLS_KEY_FILE (tls-cert-file and tls-key-file)"
    if client_ca_file and not cert_file:
        return "ADMIN_GRPC_CLIENT_CA_FILE (mTLS) needs TLS_CERT_FILE and TLS_KEY_FILE as well"
    return None


def http_tls(
    cert_file: str | None, key_file: str | None
) -> tuple[ssl.SSLContext, CertificateReloader] | None:
    """The HTTP listener's TLS from the configured files, or None for plain HTTP. Raises OSError or
    ssl.SSLError when the files cannot be loaded."""
    if not cert_file or not key_file:
        return None
    reloader = CertificateReloader(cert_file, key_file)
    return http_ssl_context(reloader), reloader


RELOADERS = web.AppKey("tls_reloaders", list[CertificateReloader])
"""The running listeners' CertificateReloaders (ReloadConfig re-reads them); an empty list is made
with the app, the listeners add theirs."""
