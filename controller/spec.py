"""A RouterConfig custom resource as typed, frozen data (pure; no I/O, no Kubernetes client).

The API server already checks the structural schema; this module still refuses malformed input with
`SpecError` so a controller pointed at a lenient server never crashes on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller import names


class SpecError(ValueError):
    """The custom resource's spec does not have the shape the CRD promises."""


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of a Secret; the controller only ever passes the reference on, never the value."""

    name: str
    key: str


@dataclass(frozen=True)
class EnvSecretRef:
    """Environment variable `env` (named by a `*-env` key of the DSL) filled from a Secret key."""

    env: str
    secret: SecretKeyRef


@dataclass(frozen=True)
class AccountCredentialRef:
    """A Secret holding an account's Claude credential files, mounted read-only at its oauth-home."""

    account: str
    secret_name: str


@dataclass(frozen=True)
class ConfigMapKeyRef:
    """`spec.configFrom.configMapKeyRef`: the DSL text lives in a ConfigMap key (a GitOps repo keeps the
    `.lino` file as a file and generates the ConfigMap from it)."""

    name: str
    key: str

    def describe(self) -> str:
        return f"ConfigMap {self.name} key {self.key}"


@dataclass(frozen=True)
class ServiceMonitorSpec:
    enabled: bool = False
    interval: str = "30s"


@dataclass(frozen=True)
class RouterConfigResource:
    """Everything the renderer needs from one RouterConfig object."""

    name: str
    namespace: str
    config: str
    uid: str = ""
    config_from: ConfigMapKeyRef | None = None
    generation: int = 0
    replicas: int = 1
    image: str = names.DEFAULT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    secret_name: str = ""
    token_secret_ref: SecretKeyRef | None = None
    admin_key_ref: SecretKeyRef | None = None
    provider_key_refs: tuple[EnvSecretRef, ...] = ()
    account_credential_refs: tuple[AccountCredentialRef, ...] = ()
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    service_type: str = "ClusterIP"
    service_monitor: ServiceMonitorSpec = ServiceMonitorSpec()

    @property
    def default_secret(self) -> str:
        """The Secret that holds every referenced env var not given an explicit reference."""
        return self.secret_name or f"{self.name}-secrets"


def _str(value: Any, where: str, default: str | None = None, alternative: str = "") -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where} must be a non-empty string{alternative}")
    return value


def _key_ref(value: Any, where: str) -> SecretKeyRef | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SpecError(f"{where} must be an object with name and key")
    return SecretKeyRef(
        name=_str(value.get("name"), f"{where}.name"), key=_str(value.get("key"), f"{where}.key")
    )


def _required_key_ref(value: Any, where: str) -> SecretKeyRef:
    ref = _key_ref(value, where)
    if ref is None:
        raise SpecError(f"{where} is required")
    return ref


def _list(value: Any, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise SpecError(f"{where} must be a list of objects")
    return value


def _resources(value: Any) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError("spec.resources must be an object")
    out: dict[str, dict[str, str]] = {}
    for part in ("requests", "limits"):
        amounts = value.get(part)
        if amounts is None:
            continue
        if not isinstance(amounts, Mapping):
            raise SpecError(f"spec.resources.{part} must be an object")
        out[part] = {str(k): str(v) for k, v in amounts.items()}
    return out


def _config_source(spec: Mapping[str, Any]) -> tuple[str, ConfigMapKeyRef | None]:
    """Inline text, or a ConfigMap reference whose text the reconciler reads (exactly one of them)."""
    source = spec.get("configFrom")
    if source is None:
        return _str(spec.get("config"), "spec.config", None, " (or spec.configFrom)"), None
    if spec.get("config") is not None:
        raise SpecError("exactly one of spec.config and spec.configFrom must be set, not both")
    ref = source.get("configMapKeyRef") if isinstance(source, Mapping) else None
    if not isinstance(ref, Mapping):
        raise SpecError("spec.configFrom.configMapKeyRef must be an object with name and key")
    where = "spec.configFrom.configMapKeyRef"
    return "", ConfigMapKeyRef(
        name=_str(ref.get("name"), f"{where}.name"), key=_str(ref.get("key"), f"{where}.key")
    )


def parse_resource(obj: Mapping[str, Any], default_image: str = names.DEFAULT_IMAGE) -> RouterConfigResource:
    """Read a RouterConfig object (as the API returns it) into a `RouterConfigResource`."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise SpecError("spec is missing")
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise SpecError("spec.replicas must be an integer >= 0")
    config, config_from = _config_source(spec)
    monitor = spec.get("serviceMonitor") or {}
    if not isinstance(monitor, Mapping):
        raise SpecError("spec.serviceMonitor must be an object")
    return RouterConfigResource(
        name=_str(meta.get("name"), "metadata.name"),
        namespace=_str(meta.get("namespace"), "metadata.namespace", "default"),
        uid=str(meta.get("uid") or ""),
        generation=int(meta.get("generation") or 0),
        config=config,
        config_from=config_from,
        replicas=replicas,
        image=_str(spec.get("image"), "spec.image", default_image),
        image_pull_policy=_str(spec.get("imagePullPolicy"), "spec.imagePullPolicy", "IfNotPresent"),
        secret_name=str(spec.get("secretName") or ""),
        token_secret_ref=_key_ref(spec.get("tokenSecretRef"), "spec.tokenSecretRef"),
        admin_key_ref=_key_ref(spec.get("adminKeyRef"), "spec.adminKeyRef"),
        provider_key_refs=tuple(
            EnvSecretRef(
                env=_str(item.get("env"), f"spec.providerKeyRefs[{i}].env"),
                secret=_required_key_ref(item.get("secretKeyRef"), f"spec.providerKeyRefs[{i}].secretKeyRef"),
            )
            for i, item in enumerate(_list(spec.get("providerKeyRefs"), "spec.providerKeyRefs"))
        ),
        account_credential_refs=tuple(
            AccountCredentialRef(
                account=_str(item.get("account"), f"spec.accountCredentialRefs[{i}].account"),
                secret_name=_str(item.get("secretName"), f"spec.accountCredentialRefs[{i}].secretName"),
            )
            for i, item in enumerate(_list(spec.get("accountCredentialRefs"), "spec.accountCredentialRefs"))
        ),
        resources=_resources(spec.get("resources")),
        service_type=_str(spec.get("serviceType"), "spec.serviceType", "ClusterIP"),
        service_monitor=ServiceMonitorSpec(
            enabled=bool(monitor.get("enabled", False)),
            interval=_str(monitor.get("interval"), "spec.serviceMonitor.interval", "30s"),
        ),
    )


def resource_from_config_file(
    name: str, config_text: str, namespace: str = "default"
) -> RouterConfigResource:
    """The resource `config render` assumes for a bare DSL file: defaults plus the file's text."""
    return RouterConfigResource(name=name, namespace=namespace, config=config_text)
