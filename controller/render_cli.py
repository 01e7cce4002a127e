"""`config render FILE --target kubernetes|helm-values|akash|sidecar`: one DSL file, four deployment targets.

Called by the `config render` subcommand; reads the file, validates it and runs the same pure renderer
the controller uses. Returns (exit code, text) and never raises for bad input.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from controller.akash import render_sdl, sdl_header
from controller.configcheck import check_resource
from controller.helm_values import render_values
from controller.podspec import dns_label
from controller.render import render_children
from controller.sidecar import sidecar_patch
from controller.spec import Workload, resource_from_config_file


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


def render_text(
    name: str, config_text: str, source: str, target: Target, workload: Workload | None = None
) -> tuple[int, str]:
    """Render DSL text (already read) for a target; exit code 1 with the problems when invalid."""
    resource = resource_from_config_file(dns_label(name)[:47].rstrip("-"), config_text)
    check = check_resource(resource)
    if not check.valid or check.config is None:
        lines = [p.render().replace(resource_source(resource), source, 1) for p in check.problems]
        return 1, "\n".join(lines) + "\n"
    if target is Target.KUBERNETES:
        return 0, to_yaml(render_children(resource, check.config))
    if target is Target.SIDECAR:
        return 0, to_yaml([sidecar_patch(resource, check.config, workload or Workload())])
    if target is Target.HELM_VALUES:
        return 0, to_yaml([render_values(resource, check.config)])
    return 0, sdl_header(resource) + "---\n" + to_yaml([render_sdl(resource, check.config)])


def resource_source(resource: Any) -> str:
    return f"{resource.namespace}/{resource.name}/spec.config"


def render_command(path: str, target: str, workload: str = "app", container: str = "app") -> tuple[int, str]:
    """Entry point for the CLI: (0, manifests) / (1, problems) / (2, usage error)."""
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
    return render_text(file.stem, text, path, chosen, joined)
