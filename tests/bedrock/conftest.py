"""Fixtures for the Bedrock/Vertex surface tests: the fake upstream, a two-account gateway config,
and a self-signed certificate (botocore sends a Bedrock API key only over HTTPS)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.bedrock.clients import bedrock_clients
from tests.support.tls import Certificate, self_signed, server_context
from tests.support.two_accounts import config, fake

__all__ = ["bedrock_clients", "config", "fake"]


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def tls(cert: Certificate) -> ssl.SSLContext:
    return server_context(cert)
