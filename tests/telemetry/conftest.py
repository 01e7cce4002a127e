"""Fixtures for telemetry tests: the fake Anthropic upstream and a two-account gateway config."""

from tests.support.two_accounts import config, fake

__all__ = ["config", "fake"]
