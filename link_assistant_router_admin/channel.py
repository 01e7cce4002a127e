"""Channels to a gateway's admin listener: TLS (optionally with a client certificate for mTLS)
or, when asked for explicitly, plaintext; the admin key goes in every call's metadata.

`ChannelOptions.from_files` reads the PEM files and the admin key (a file wins over the value);
`open_channel` makes the `grpc.aio` channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc import aio


class ChannelError(ValueError):
    """Options that cannot make a channel (a missing file, a certificate without its key)."""


@dataclass(frozen=True)
class ChannelOptions:
    target: str
    plaintext: bool = False
    ca_pem: bytes | None = None
    """Trusted roots for the server certificate; None uses the system's."""
    cert_pem: bytes | None = None
    key_pem: bytes | None = field(default=None, repr=False)
    admin_key: str | None = field(default=None, repr=False)
    server_name: str | None = None
    """Name to check the server certificate against when it differs from the target's host."""

    @classmethod
    def from_files(
        cls,
        target: str,
        *,
        plaintext: bool = False,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        admin_key: str | None = None,
        admin_key_file: str | None = None,
        server_name: str | None = None,
    ) -> ChannelOptions:
        if bool(cert_file) != bool(key_file):
            raise ChannelError("a client certificate needs its key: give both --tls-cert and --tls-key")
        if plaintext and (ca_file or cert_file):
            raise ChannelError("--plaintext cannot be combined with TLS files")
        key = _read(admin_key_file).decode().strip() if admin_key_file else admin_key
        return cls(
            target=target,
            plaintext=plaintext,
            ca_pem=_read(ca_file) if ca_file else None,
            cert_pem=_read(cert_file) if cert_file else None,
            key_pem=_read(key_file) if key_file else None,
            admin_key=key or None,
            server_name=server_name,
        )

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.admin_key}"),) if self.admin_key else ()


def _read(path: str | None) -> bytes:
    assert path is not None
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ChannelError(f"cannot read {path}: {exc.strerror or exc}") from exc


def open_channel(options: ChannelOptions) -> aio.Channel:
    if options.plaintext:
        return aio.insecure_channel(options.target)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=options.ca_pem, private_key=options.key_pem, certificate_chain=options.cert_pem
    )
    extra = (("grpc.ssl_target_name_override", options.server_name),) if options.server_name else ()
    return aio.secure_channel(options.target, credentials, options=extra)
