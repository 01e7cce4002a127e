"""Which API family a path belongs to, and whether the config hides it.

Pure. The family decides the error dialect (Anthropic or OpenAI shape) and which feature toggle
hides the route, including on the catch-all, so a disabled surface is really gone.
"""

from __future__ import annotations

from enum import StrEnum

from dsl.model import FeaturesConfig


class Family(StrEnum):
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    METRICS = "metrics"
    ADMIN = "admin"


OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/responses", "/v1/models"})
METRICS_PATHS = frozenset({"/metrics", "/v1/usage", "/v1/accounts"})


def family_of(path: str) -> Family:
    if path in OPENAI_PATHS or path.startswith("/v1/models/"):
        return Family.OPENAI
    if path in METRICS_PATHS:
        return Family.METRICS
    if path.startswith("/api/tokens") or path.startswith("/api/providers"):
        return Family.ADMIN
    return Family.ANTHROPIC


def is_enabled(family: Family, features: FeaturesConfig) -> bool:
    if family is Family.OPENAI:
        return features.openai_api
    if family is Family.METRICS:
        return features.metrics
    if family is Family.ANTHROPIC:
        return features.anthropic_api
    return True
