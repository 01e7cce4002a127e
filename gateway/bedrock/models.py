"""Model names across the three dialects, and the Bedrock catalogue answers. Pure; no I/O.

Bedrock names a Claude model `anthropic.claude-sonnet-4-5-20250929-v1:0`, an inference profile
`us.anthropic.claude-sonnet-4-5-20250929-v1:0` (a geography prefix), either one inside an ARN, or
(through a gateway) plainly `claude-sonnet-4-5`. Vertex writes the version after `@`:
`claude-sonnet-4-5@20250929`. All of them map to the Anthropic id the account pool routes by.
The catalogue answers (`/foundation-models`, `/inference-profiles`) list the gateway's Claude
models in the shape the AWS SDK parses; the region and account in their ARNs are placeholders,
since a gateway has neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

PROVIDER_PREFIX = "anthropic."
# Geography prefixes of system-defined inference profiles (`us.`, `eu.`, `apac.`, `global.`, …).
_PROFILE_PREFIX = re.compile(r"^[a-z]{2,6}(-[a-z]{2,6})?\.(?=anthropic\.)")
# `-v1:0` after a dated id; only then, so an undated name keeps whatever it ends with.
_VERSION_SUFFIX = re.compile(r"(?<=-\d{8})-v\d+(:\d+)?$")
_VERTEX_VERSION = re.compile(r"^(claude-[A-Za-z0-9.-]+)@(\d{8})$")

ARN_REGION = "us-east-1"
ARN_ACCOUNT = "000000000000"
PROFILE_GEOGRAPHY = "us"


def anthropic_model_id(model: str) -> str:
    """The Anthropic id for a Bedrock model id, inference-profile id or ARN (path-escaped or not),
    a Vertex `name@version`, or a plain name (returned as is)."""
    name = unquote(model.strip())
    if name.startswith("arn:"):
        name = name.rpartition("/")[2]
    name = _PROFILE_PREFIX.sub("", name)
    if name.startswith(PROVIDER_PREFIX):
        name = _VERSION_SUFFIX.sub("", name[len(PROVIDER_PREFIX) :])
    vertex = _VERTEX_VERSION.match(name)
    if vertex:
        name = f"{vertex.group(1)}-{vertex.group(2)}"
    return name


def bedrock_model_id(anthropic_id: str) -> str:
    """`claude-sonnet-4-5-20250929` → `anthropic.claude-sonnet-4-5-20250929-v1:0` (dated ids get
    Bedrock's version suffix; undated ones are only prefixed)."""
    suffix = "-v1:0" if re.search(r"-\d{8}$", anthropic_id) else ""
    return f"{PROVIDER_PREFIX}{anthropic_id}{suffix}"


def _display_name(anthropic_id: str) -> str:
    words = re.sub(r"-\d{8}$", "", anthropic_id).split("-")
    family = [w for w in words if not w.isdigit()]
    version = ".".join(w for w in words if w.isdigit())
    name = " ".join(w.capitalize() for w in family)
    return f"{name} {version}".strip()


def _model_arn(model_id: str) -> str:
    return f"arn:aws:bedrock:{ARN_REGION}::foundation-model/{model_id}"


def foundation_models(models: Iterable[str]) -> dict[str, Any]:
    """The `ListFoundationModels` answer for these Anthropic ids."""
    summaries = []
    for anthropic_id in models:
        model_id = bedrock_model_id(anthropic_id)
        summaries.append(
            {
                "modelArn": _model_arn(model_id),
                "modelId": model_id,
                "modelName": _display_name(anthropic_id),
                "providerName": "Anthropic",
                "inputModalities": ["TEXT", "IMAGE"],
                "outputModalities": ["TEXT"],
                "responseStreamingSupported": True,
                "customizationsSupported": [],
                "inferenceTypesSupported": ["ON_DEMAND", "INFERENCE_PROFILE"],
                "modelLifecycle": {"status": "ACTIVE"},
            }
        )
    return {"modelSummaries": summaries}


def inference_profiles(models: Iterable[str], created_at: str) -> dict[str, Any]:
    """The `ListInferenceProfiles` answer (system-defined, one geography) for these Anthropic ids.
    `created_at` is an ISO-8601 timestamp; the SDK requires one and parses it."""
    summaries = []
    for anthropic_id in models:
        model_id = bedrock_model_id(anthropic_id)
        profile_id = f"{PROFILE_GEOGRAPHY}.{model_id}"
        name = _display_name(anthropic_id)
        summaries.append(
            {
                "inferenceProfileName": f"{PROFILE_GEOGRAPHY.upper()} Anthropic {name}",
                "description": f"Routes requests to {name} through the gateway.",
                "createdAt": created_at,
                "updatedAt": created_at,
                "inferenceProfileArn": (
                    f"arn:aws:bedrock:{ARN_REGION}:{ARN_ACCOUNT}:inference-profile/{profile_id}"
                ),
                "models": [{"modelArn": _model_arn(model_id)}],
                "inferenceProfileId": profile_id,
                "status": "ACTIVE",
                "type": "SYSTEM_DEFINED",
            }
        )
    return {"inferenceProfileSummaries": summaries}
