"""boto3 clients for the gateway's Bedrock surface, and reading their streams.

The key travels as a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`), exactly as Claude Code sends it;
botocore sends one only over HTTPS, hence the gateway's TLS site and the test certificate.
`key=None` makes an ordinary SigV4-signing client instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

import boto3
import pytest
from botocore.config import Config

from tests.support.gateway import RunningGateway
from tests.support.tls import Pki


def bedrock_client(
    gw: RunningGateway,
    cert: Pki,
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
    service: str = "bedrock-runtime",
) -> Any:
    if key is None:
        monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    else:
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key)
    session = boto3.session.Session(region_name="us-east-1")
    return session.client(
        service, endpoint_url=gw.tls_url, verify=str(cert.ca_cert), config=Config(retries={"max_attempts": 1})
    )


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The Anthropic events of an InvokeModelWithResponseStream answer (boto3 decodes the base64)."""
    return [json.loads(part["chunk"]["bytes"]) for part in response["body"]]


class ClientMaker(Protocol):
    def __call__(self, gw: RunningGateway, key: str | None, service: str = "bedrock-runtime") -> Any: ...


@pytest.fixture
def bedrock_clients(cert: Pki, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientMaker]:
    """Makes boto3 clients for a gateway (`key=None`: SigV4) and closes them after the test."""
    made: list[Any] = []

    def make(gw: RunningGateway, key: str | None, service: str = "bedrock-runtime") -> Any:
        made.append(bedrock_client(gw, cert, monkeypatch, key, service))
        return made[-1]

    yield make
    for client in made:
        client.close()
