"""`config render FILE --target kubernetes|helm-values|akash|sidecar [--name N] [--namespace NS]
[--replicas R] [--storage-size S] [--storage-class C] [--workload W --container C]`: one DSL file, four
deployment targets.

Called by the `config render` subcommand; reads the file, validates it and runs the same pure renderer
the controller uses. Returns (exit code, text) and never raises for bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from controller.akash import SERVICE as AKASH_SERVICE
from controller.akash import files_to_env, render_sdl, sdl_header
from controller.configcheck import check_resource, name_problems
from controller.helm_values import render_values
from controller.podspec import dns_label
from controller.render import render_children
from controller.sidecar import sidecar_patch
from controller.spec import StorageSpec, Workload, resource_from_config_file
from dsl.errors import Problem


class Target(StrEnum):
    KUBERNETES = "kubernetes"
    HELM_VALUES = "helm-values"
    AKASH = "akash"
    SIDECAR = "sidecar"


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings (the DSL text) as `|` literals so the output stays readable."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(documents: list[dict[str, Any]]) -> str:
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@dataclass(frozen=True)
class Placement:
    """What a bare DSL file does not say: the objects' name and namespace, replicas, the claim."""

    name: str | None = None
    """None: derived from the file name."""
    namespace: str = "default"
    replicas: int = 1
    storage: StorageSpec = field(default_factory=StorageSpec)


def render_text(
    name: str,
    config_text: str,
    source: str,
    target: Target,
    placement: Placement = Placement(),
    workload: Workload | None = None,
) -> tuple[int, str]:
    """Render DSL text (already read) for a target; exit code 1 with the problems when invalid."""
    chosen = placement.name if placement.name is not None else dns_label(name)[:47].rstrip("-")
    if not NAMESPACE.fullmatch(placement.namespace):
        return 2, f"--namespace {placement.namespace[:80]!r} is not a DNS label (lowercase, digits, '-')\n"
    refused = name_problems(chosen)
    if refused and target is Target.AKASH and placement.name is None:
        # On Akash the name only labels the SDL: a file called kubernetes.lino is fine there.
        chosen, refused = AKASH_SERVICE, ()
    if refused:
        hint = "" if placement.name is not None else f" (derived from the file name {source}; pass --name)"
        return 1, "\n".join(p.render() for p in refused) + hint + "\n"
    resource = resource_from_config_file(
        chosen, config_text, placement.namespace, placement.replicas, placement.storage
    )
    check = check_resource(resource, sidecar=target is Target.SIDECAR)
    if not check.valid or check.config is None:
        lines = [p.render().replace(resource_source(resource), source, 1) for p in check.problems]
        return 1, "\n".join(lines) + "\n"
    if target is Target.KUBERNETES:
        return 0, to_yaml(render_children(resource, check.config))
    if target is Target.SIDECAR:
        return 0, to_yaml([sidecar_patch(resource, check.config, workload or Workload())])
    if target is Target.HELM_VALUES:
        return 0, to_yaml([render_values(resource, check.config)])
    akash = files_to_env(config_text, check.config, source)
    if isinstance(akash, Problem):
        return 1, akash.render() + "\n"
    return 0, sdl_header(resource, akash) + "---\n" + to_yaml([render_sdl(resource, akash)])


def resource_source(resource: Any) -> str:
    return f"{resource.namespace}/{resource.name}/spec.config"


def render_command(
    path: str,
    target: str,
    *,
    name: str | None = None,
    namespace: str = "default",
    replicas: int = 1,
    storage_size: str = "1Gi",
    storage_class: str | None = None,
    workload: str = "app",
    container: str = "app",
) -> tuple[int, str]:
    """Entry point for the CLI: (0, manifests) / (1, problems) / (2, usage error)."""
    placement = Placement(name, namespace, replicas, StorageSpec(storage_size, storage_class))
    try:
        chosen = Target(target)
    except ValueError:
        return 2, f"unknown target {target!r}; expected one of: {', '.join(t.value for t in Target)}\n"
    try:
        joined = Workload.parse(workload, container)
    except ValueError as exc:
        return 2, f"{exc}\n"
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return 2, f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}\n"
    if not text.strip():
        return 1, f"{path}: the config file is empty\n"
    if placement.replicas < 0:
        return 2, "--replicas must be 0 or more\n"
    return render_text(file.stem, text, path, chosen, placement, joined)
