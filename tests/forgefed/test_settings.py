"""The ActivityPub settings this issue adds act from every layer: DSL file, environment, flags."""

from __future__ import annotations

import pytest

from dsl.config import load_config_traced
from dsl.errors import DslValidationError
from dsl.model import SecretRef
from dsl.settings import resolve

CONFIG = """features:
  activitypub off
activitypub:
  actor-base-url "https://router.example"
  private-key-env AP_PRIVATE_KEY
  rate-limit-per-minute 30
crater:
  inbox "https://tracker.example/inbox"
  poll-interval 250ms
  poll-timeout 2m
"""


def test_the_config_file_sets_them() -> None:
    config = load_config_traced(CONFIG, "router.lino").config
    assert config.features.activitypub is False
    assert config.activitypub.private_key == SecretRef(env="AP_PRIVATE_KEY")
    assert config.activitypub.rate_limit_per_minute == 30
    assert (config.crater.poll_interval_ms, config.crater.poll_timeout_secs) == (250, 120)


def test_an_inline_private_key_in_the_file_is_refused() -> None:
    with pytest.raises(DslValidationError, match="private-key"):
        load_config_traced('activitypub:\n  private-key "-----BEGIN PRIVATE KEY-----"\n', "router.lino")


def test_environment_and_flags_set_them() -> None:
    environ = {
        "DISABLE_ACTIVITYPUB": "true",
        "ACTIVITYPUB_PRIVATE_KEY_PEM": "-----BEGIN PRIVATE KEY-----…",
        "ACTIVITYPUB_RATE_LIMIT_PER_MINUTE": "0",
    }
    config = resolve({}, environ).config
    assert config.features.activitypub is False
    assert config.activitypub.private_key == SecretRef(env="ACTIVITYPUB_PRIVATE_KEY_PEM")
    assert config.activitypub.rate_limit_per_minute == 0
    flags = resolve({"activitypub_rate_limit_per_minute": "7", "disable_activitypub": True}, {}).config
    assert (flags.activitypub.rate_limit_per_minute, flags.features.activitypub) == (7, False)
