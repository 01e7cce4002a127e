"""A gateway config with two API-key accounts (`alpha`, `beta`) in front of a stand-in upstream."""

from __future__ import annotations

from pathlib import Path

from dsl.model import RouterConfig
from tests.support.gateway import api_key_account, gateway_config

ACCOUNT_ENV = {"KEY_A": "sk-ant-api03-ACCOUNT-A", "KEY_B": "sk-ant-api03-ACCOUNT-B"}
"""The environment holding the two accounts' keys; pass it to `running_gateway`."""


def two_account_config(upstream_url: str, data_dir: Path) -> RouterConfig:
    accounts = (api_key_account("alpha", "KEY_A"), api_key_account("beta", "KEY_B"))
    return gateway_config(upstream_url, data_dir, accounts=accounts)
