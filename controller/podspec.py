"""How a gateway pod gets its secrets and files: env vars, volumes and mounts (pure).

Secrets are wired by reference only (`secretKeyRef`, secret volumes): the controller never reads a
Secret's value. Every `*-env` reference of the DSL becomes an env var from a Secret key, every `*-file`
reference a read-only file mount, every OAuth account a read-only credential directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from controller import names
from controller.persistence import claim_name, wants_claim
from controller.spec import RouterConfigResource, SecretKeyRef
from dsl.model import RouterConfig, SecretRef, UpstreamConfig

Manifest = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class PodWiring:
    env: tuple[Manifest, ...]
    volumes: tuple[Manifest, ...]
    mounts: tuple[Manifest, ...]


def dns_label(text: str) -> str:
    """`text` as a DNS-1123 label (volume and object names); long names keep a hash to stay unique."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
    if not label[0].isalpha():
        label = f"r-{label}"
    if len(label) > 63:
        label = label[:54].rstrip("-") + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return label


def container_path(path: str) -> str:
    """A DSL path as an absolute path inside the gateway container (`~` is the image user's home)."""
    if path == "~" or path.startswith("~/"):
        path = names.GATEWAY_HOME + path[1:]
    # Relative paths are relative to the process's working directory, which the pod pins to the home.
    return posixpath.normpath(posixpath.join(names.GATEWAY_HOME, path))


def claude_home(config: RouterConfig) -> str:
    default = UpstreamConfig().claude_code_home
    home = config.upstream.claude_code_home
    return names.DEFAULT_CLAUDE_HOME if home == default else container_path(home)


def data_dir(config: RouterConfig) -> str:
    return container_path(config.storage.data_dir) if config.storage.data_dir else names.DEFAULT_DATA_DIR


def _secret_refs(config: RouterConfig) -> Iterator[tuple[str, SecretRef]]:
    """Every secret reference anywhere in the config (found by walking the model, so a field added
    later is wired too), labelled by its path."""

    def walk(value: object, where: str) -> Iterator[tuple[str, SecretRef]]:
        if isinstance(value, SecretRef):
            yield where, value
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for item in dataclasses.fields(value):
                yield from walk(getattr(value, item.name), f"{where}.{item.name}")
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                yield from walk(item, f"{where}[{index}]")

    yield from walk(config, "config")


def _env_var(name: str, ref: SecretKeyRef) -> Manifest:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def secret_env(resource: RouterConfigResource, config: RouterConfig) -> list[Manifest]:
    """Env vars from Secret keys: explicit refs from the spec, else `<secretName>/<ENV>`."""
    explicit = {ref.env: ref.secret for ref in resource.provider_key_refs}
    token_env = config.admin.token_secret.env or "TOKEN_SECRET"
    if resource.token_secret_ref:
        explicit[token_env] = resource.token_secret_ref
    admin_env = (config.admin.admin_key.env if config.admin.admin_key else None) or "TOKEN_ADMIN_KEY"
    if resource.admin_key_ref:
        explicit[admin_env] = resource.admin_key_ref
    wanted = dict(explicit)
    for _, dsl_ref in _secret_refs(config):
        if dsl_ref.env:
            wanted.setdefault(dsl_ref.env, SecretKeyRef(resource.default_secret, dsl_ref.env))
    return [_env_var(env, wanted[env]) for env in sorted(wanted)]


def file_secret_paths(config: RouterConfig) -> list[str]:
    """Every `*-file` path of the config as written in it (not yet resolved inside the container)."""
    return sorted({ref.file for _, ref in _secret_refs(config) if ref.file})


def env_secret_names(config: RouterConfig) -> set[str]:
    return {ref.env for _, ref in _secret_refs(config) if ref.env}


def secret_files(config: RouterConfig) -> list[str]:
    """Every `*-file` path of the config, as mounted: the file name is the key in the Secret."""
    return sorted({container_path(ref.file) for _, ref in _secret_refs(config) if ref.file})


def _file_mounts(
    resource: RouterConfigResource, config: RouterConfig
) -> tuple[list[Manifest], list[Manifest]]:
    files = secret_files(config)
    if not files:
        return [], []
    volume = {"name": "secret-files", "secret": {"secretName": resource.default_secret}}
    mounts = [
        {"name": "secret-files", "mountPath": path, "subPath": posixpath.basename(path), "readOnly": True}
        for path in files
    ]
    return [volume], mounts


def _account_mounts(
    resource: RouterConfigResource, config: RouterConfig
) -> tuple[list[Manifest], list[Manifest]]:
    explicit = {ref.account: ref.secret_name for ref in resource.account_credential_refs}
    volumes: list[Manifest] = []
    mounts: list[Manifest] = []
    primary = explicit.get("default")
    if primary or not credential_dirs(config):
        # Single-account mode reads CLAUDE_CODE_HOME. With declared accounts it is mounted only on
        # request, since account homes often live below it and a secret volume is read-only.
        home_secret = {"secretName": primary or f"{resource.name}-claude", "optional": primary is None}
        volumes.append({"name": "claude-home", "secret": home_secret})
        mounts.append({"name": "claude-home", "mountPath": claude_home(config), "readOnly": True})
    for account, home in credential_dirs(config):
        volume = dns_label(f"claude-{account}")
        secret = explicit.get(account, dns_label(f"{resource.name}-claude-{account}"))
        volumes.append({"name": volume, "secret": {"secretName": secret}})
        mounts.append({"name": volume, "mountPath": container_path(home), "readOnly": True})
    return volumes, mounts


def credential_dirs(config: RouterConfig) -> list[tuple[str, str]]:
    """(account name, credential dir) of every OAuth account: declared accounts, then the seed's
    additional account dirs, which are named after their last path component."""
    dirs = [(a.name, a.oauth_home) for a in config.accounts if a.oauth_home]
    dirs += [
        (posixpath.basename(d.rstrip("/")) or "extra", d) for d in config.upstream.additional_account_dirs
    ]
    return dirs


def pod_wiring(resource: RouterConfigResource, config: RouterConfig) -> PodWiring:
    """Env, volumes and mounts of the gateway container for this resource and config."""
    env: list[Manifest] = [
        {"name": "ROUTER_CONFIG", "value": names.CONFIG_PATH},
        {"name": "CLAUDE_CODE_HOME", "value": claude_home(config)},
        {"name": "DATA_DIR", "value": data_dir(config)},
        *secret_env(resource, config),
    ]
    # Writable scratch space under a read-only root: data, /tmp, and the home (the `claude` CLI of the
    # cli routing mode keeps its state there). A data dir equal to the home needs no volume of its own.
    volumes: list[Manifest] = [{"name": "config", "configMap": {"name": f"{resource.name}-config"}}]
    mounts: list[Manifest] = [{"name": "config", "mountPath": names.CONFIG_MOUNT_DIR, "readOnly": True}]
    # File-backed token state lives on the claim, so a restarted pod still knows every revoked key.
    scratch = [("data", data_dir(config)), ("tmp", "/tmp"), ("home", names.GATEWAY_HOME)]
    if data_dir(config) == names.GATEWAY_HOME:
        scratch = scratch[1:]
    for name, path in scratch:
        source: Manifest = {"emptyDir": {}}
        if path == data_dir(config) and wants_claim(config):
            source = {"persistentVolumeClaim": {"claimName": claim_name(resource)}}
        volumes.append({"name": name, **source})
        mounts.append({"name": name, "mountPath": path})
    for extra_volumes, extra_mounts in (_file_mounts(resource, config), _account_mounts(resource, config)):
        volumes += extra_volumes
        mounts += extra_mounts
    return PodWiring(env=tuple(env), volumes=tuple(volumes), mounts=tuple(mounts))
