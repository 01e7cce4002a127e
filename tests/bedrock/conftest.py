"""Fixtures for the Bedrock/Vertex surface tests: the fake upstream, a two-account gateway config,
and a throwaway PKI (botocore sends a Bedrock API key only over HTTPS)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.bedrock.clients import bedrock_clients
from tests.support.tls import Pki, make_pki
from tests.support.two_accounts import config, fake

__all__ = ["bedrock_clients", "config", "fake"]


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("tls")), name="bedrock")


@pytest.fixture
def tls(cert: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.server_cert, cert.server_key)
    return context
