"""Rules that span several fields of a built RouterConfig.

Pure. Used by the DSL loader (on the file alone) and by the settings resolver (after flags and
environment are applied), so a gonka upstream without a key is caught whichever layer chose it.
Each finding names the model path it is about, so the caller can point at the right line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.model import RouterConfig, UpstreamProvider

Finding = tuple[str, str, str | None]
"""(model path, message, expected)"""


def cross_check(config: RouterConfig) -> list[Finding]:
    findings: list[Finding] = []
    provider = config.upstream.provider
    if provider is UpstreamProvider.GONKA and config.gonka.private_key is None:
        findings.append(
            (
                "upstream.provider",
                "upstream provider gonka needs a Gonka private key",
                "`private-key-env NAME` in a `gonka:` block, or GONKA_PRIVATE_KEY in the environment",
            )
        )
    if provider is UpstreamProvider.CRATER and not config.crater.inbox:
        findings.append(
            (
                "upstream.provider",
                "upstream provider crater needs a ForgeFed inbox",
                '`inbox "https://…"` in a `crater:` block, or CRATER_FORGEFED_INBOX in the environment',
            )
        )
    if config.mpp.enabled and not config.mpp.recipient:
        findings.append(
            (
                "mpp.enabled",
                "MPP charges are enabled but no recipient is set",
                "`recipient ACCOUNT` in the `mpp:` block, or MPP_RECIPIENT in the environment",
            )
        )
    server = config.server
    if server.shutdown_delay > 0 and server.shutdown_delay >= server.shutdown_grace:
        # The grace counts from SIGTERM, the delay included: streams would have no time left.
        findings.append(
            (
                "server.shutdown_delay",
                f"shutdown-delay {server.shutdown_delay:g}s leaves no time of shutdown-grace "
                f"{server.shutdown_grace:g}s for open streams (both count from SIGTERM)",
                "a shutdown-delay shorter than shutdown-grace",
            )
        )
    return findings


def record_findings(kind: str, name: str, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Required fields of one account or provider record: (message, expected) pairs."""
    if kind == "provider" and "base_url" not in fields:
        return [(f"provider `{name}` has no base URL", '`base-url "http://host:port/v1"`')]
    if kind != "account":
        return []
    has_home, has_key = "oauth_home" in fields, "api_key" in fields
    if not has_home and not has_key:
        return [
            (
                f"account `{name}` has no credential",
                "`oauth-home DIR`, `api-key-env NAME` or `api-key-file PATH`",
            )
        ]
    if has_home and has_key:
        return [(f"account `{name}` has both oauth-home and an API key", "only one credential per account")]
    return []
