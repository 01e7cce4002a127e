"""Fixtures for the Bedrock/Vertex surface tests: the fake upstream and a two-account gateway."""

from tests.support.two_accounts import config, fake

__all__ = ["config", "fake"]
