"""Accepted means active: what the effective settings turn on that this build does not act on.

`notices(config, environ, token_secret)` lists every setting in effect that would otherwise be
silently ignored: errors (the gateway must not start: MPP that cannot charge, a Gonka key that cannot
sign) and warnings that name the setting (it changes nothing here, or is overridden by another
one). `serve` prints the errors and exits 2, logs the warnings at start-up, and `doctor` shows both.
A setting is "in effect" when its value differs from the built-in default, whichever layer set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from dsl.model import (
    ActivityPubConfig,
    CraterConfig,
    GonkaConfig,
    MppConfig,
    OpenAICompatibleDefaults,
    RouterConfig,
    RoutingMode,
    UpstreamProvider,
)
from gateway.exchange.socket_identity import KeyFileError, read_default_key
from gateway.gonka.forward import GonkaSetupError, gonka_upstream
from gateway.listeners import listener_problems
from gateway.mpp.gate import MppSetupError, mpp_gate


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Notice:
    level: Level
    message: str
    """Starts with the setting's variable name(s), so an operator can grep for it."""


def notices(config: RouterConfig, environ: Mapping[str, str], token_secret: str) -> list[Notice]:
    return errors(config, environ, token_secret) + warnings(config)


def errors(config: RouterConfig, environ: Mapping[str, str], token_secret: str) -> list[Notice]:
    found: list[Notice] = []
    if config.upstream.provider is UpstreamProvider.GONKA:
        try:
            gonka_upstream(config, environ)
        except GonkaSetupError as err:
            found.append(Notice(Level.ERROR, f"GONKA_PRIVATE_KEY/GONKA_ENDPOINTS: {err}"))
    try:
        mpp_gate(config, environ, token_secret)
    except MppSetupError as err:
        found.append(Notice(Level.ERROR, f"MPP_ENABLE: {err}"))
    found += [Notice(Level.ERROR, problem) for problem in listener_problems(config.server)]
    try:
        read_default_key(config.server.default_key_file)
    except KeyFileError as err:
        found.append(Notice(Level.ERROR, str(err)))
    return found


def _changed(current: object, default: object, fields: Mapping[str, str]) -> list[str]:
    return [name for attr, name in fields.items() if getattr(current, attr) != getattr(default, attr)]


GONKA_VARS = {"private_key": "GONKA_PRIVATE_KEY", "source_url": "GONKA_SOURCE_URL", "model": "GONKA_MODEL",
              "endpoints": "GONKA_ENDPOINTS"}  # fmt: skip
CRATER_VARS = {"inbox": "CRATER_FORGEFED_INBOX", "actor": "CRATER_FORGEFED_ACTOR",
               "target": "CRATER_FORGEFED_TARGET", "poll_interval_ms": "CRATER_POLL_INTERVAL_MS",
               "poll_timeout_secs": "CRATER_POLL_TIMEOUT_SECS"}  # fmt: skip
ACTIVITYPUB_VARS = {
    "actor_base_url": "ACTIVITYPUB_ACTOR_BASE_URL",
    "public_key_pem": "ACTIVITYPUB_PUBLIC_KEY_PEM",
    "private_key": "ACTIVITYPUB_PRIVATE_KEY_PEM",
    "rate_limit_per_minute": "ACTIVITYPUB_RATE_LIMIT_PER_MINUTE",
}
OPENAI_COMPATIBLE_VARS = {
    "provider_name": "OPENAI_COMPATIBLE_PROVIDER_NAME", "base_url": "OPENAI_COMPATIBLE_BASE_URL",
    "api_key": "OPENAI_COMPATIBLE_API_KEY/OPENAI_COMPATIBLE_API_KEY_ENV", "model": "OPENAI_COMPATIBLE_MODEL",
    "models": "OPENAI_COMPATIBLE_MODELS",
}  # fmt: skip
MPP_VARS = {
    "amount": "MPP_AMOUNT",
    "currency": "MPP_CURRENCY",
    "recipient": "MPP_RECIPIENT",
    "method": "MPP_METHOD",
}


def warnings(config: RouterConfig) -> list[Notice]:
    found: list[str] = []
    provider = config.upstream.provider
    if config.features.experimental_compatibility:
        found.append(
            "EXPERIMENTAL_COMPATIBILITY is on but changes nothing in this build (nor did it in the seed)"
        )
    crater = _changed(config.crater, CraterConfig(), CRATER_VARS)
    if crater and provider is not UpstreamProvider.CRATER:
        found.append(f"{', '.join(crater)}: ignored, UPSTREAM_PROVIDER is {provider.value}, not crater")
    activitypub = _changed(config.activitypub, ActivityPubConfig(), ACTIVITYPUB_VARS)
    if activitypub and not config.features.activitypub:
        found.append(f"{', '.join(activitypub)}: ignored, DISABLE_ACTIVITYPUB hides the ActivityPub surface")
    gonka = _changed(config.gonka, GonkaConfig(), GONKA_VARS)
    if gonka and provider is not UpstreamProvider.GONKA:
        found.append(f"{', '.join(gonka)}: ignored, UPSTREAM_PROVIDER is {provider.value}, not gonka")
    compatible = _changed(config.openai_compatible, OpenAICompatibleDefaults(), OPENAI_COMPATIBLE_VARS)
    if compatible and provider is not UpstreamProvider.OPENAI_COMPATIBLE:
        found.append(
            f"{', '.join(compatible)}: ignored, UPSTREAM_PROVIDER is {provider.value}, not openai-compatible"
        )
    mpp = _changed(config.mpp, MppConfig(), MPP_VARS)
    if mpp and not config.mpp.enabled:
        found.append(f"{', '.join(mpp)}: ignored, MPP_ENABLE is off")
    if not config.features.openai_api:
        if config.mpp.enabled:
            found.append("MPP_ENABLE: charges nothing, DISABLE_OPENAI_API hides the OpenAI routes it guards")
        if provider is not UpstreamProvider.ANTHROPIC:
            found.append(
                f"UPSTREAM_PROVIDER={provider.value}: unused, DISABLE_OPENAI_API hides the OpenAI routes"
            )
    if config.routing.claude_cli_bin and config.routing.mode is RoutingMode.DIRECT:
        found.append("CLAUDE_CLI_BIN: ignored, ROUTING_MODE is direct (the CLI runs only in cli or hybrid)")
    return [Notice(Level.WARNING, message) for message in found]
