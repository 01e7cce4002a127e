"""Validate a RouterConfig's DSL text into the typed model, or into located problems (pure).

Uses the DSL's own loader (`dsl.config.load_config`, the one `config validate` runs), then adds the checks
only a deployment needs (names, mount paths, credential references). Never raises for bad input: problems
are data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from controller.persistence import state_problems
from controller.podspec import credential_dirs, pod_wiring, secret_files
from controller.spec import RouterConfigResource
from dsl.config import load_config
from dsl.errors import DslError, Problem
from dsl.model import RouterConfig

# A Service name is a DNS-1035 label; pods append up to 16 characters to the Deployment's name.
NAME = re.compile(r"[a-z]([-a-z0-9]{0,45}[a-z0-9])?")
# Names the cluster itself uses: a Service `kubernetes` would shadow the API server's own, and `kube-*`
# is the system components' prefix.
RESERVED_NAME = re.compile(r"kubernetes|kube-.*")


def name_problems(name: str) -> tuple[Problem, ...]:
    """Why `name` cannot name a gateway's objects (empty when it can)."""
    if not NAME.fullmatch(name):
        return (
            Problem(
                f"name {name[:80]!r} cannot name the gateway's Service",
                file="metadata.name",
                expected="at most 47 lowercase letters, digits and '-', starting with a letter",
            ),
        )
    if RESERVED_NAME.fullmatch(name):
        return (
            Problem(
                f"name {name!r} is taken by the cluster itself (the API server's Service is `kubernetes`; "
                "`kube-*` names belong to system components)",
                file="metadata.name",
                hint="choose another name (config render: --name)",
            ),
        )
    return ()


@dataclass(frozen=True)
class ConfigCheck:
    """The outcome of validating one resource: the model when valid, else every problem found."""

    config: RouterConfig | None
    problems: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return self.config is not None and not self.problems

    def message(self, limit: int = 5) -> str:
        """The problems as `file:line:column: message` lines, at most `limit` of them."""
        lines = [p.render() for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more")
        return "\n".join(lines)


def config_hash(text: str) -> str:
    """The hash that names a config version (pod-template annotation, status.configHash)."""
    return hashlib.sha256(text.encode()).hexdigest()


def _mount_clashes(resource: RouterConfigResource, config: RouterConfig, source: str) -> tuple[Problem, ...]:
    """Two things (data dir, credential dirs, key files...) at one path cannot both be mounted, and two
    key files with one name would read the same Secret key."""
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    keys: dict[str, str] = {}
    for path in secret_files(config):
        key = path.rsplit("/", 1)[-1]
        if key in keys:
            problems.append(
                Problem(
                    f"secret files {keys[key]} and {path} would read the same Secret key {key!r}",
                    file=source,
                    hint="give the files different names",
                )
            )
        keys.setdefault(key, path)
    for mount in pod_wiring(resource, config).mounts:
        path, name = mount["mountPath"], mount["name"]
        if path in seen:
            problems.append(
                Problem(
                    f"{seen[path]} and {name} would both be mounted at {path}",
                    file=source,
                    hint="give them different paths in the config",
                )
            )
        seen.setdefault(path, name)
    return tuple(problems)


def check_resource(resource: RouterConfigResource, sidecar: bool = False) -> ConfigCheck:
    """Validate the DSL of a resource and the spec's references into it; a sidecar (`sidecar`, or
    `spec.mode: sidecar`) keeps its store as its config says, one per app pod, so the shared-state rule
    of gateway Deployments does not apply to it."""
    source = f"{resource.namespace}/{resource.name}/spec.config"
    try:
        config = load_config(resource.config, source)
    except DslError as exc:
        return ConfigCheck(config=None, problems=tuple(exc.problems))
    except RecursionError:
        return ConfigCheck(None, (Problem("config is nested too deeply", file=source),))
    known = {a.name for a in config.accounts} | {name for name, _ in credential_dirs(config)} | {"default"}
    problems: tuple[Problem, ...] = ()
    problems += name_problems(resource.name)
    if not sidecar and resource.target is None:
        problems += state_problems(resource.replicas, config, source)
    if config.server.host in ("localhost", "::1") or config.server.host.startswith("127."):
        problems += (
            Problem(
                f"server host {config.server.host} only accepts connections from inside the container, so "
                "the Service and the health probes could not reach the gateway",
                file=source,
                hint="use 0.0.0.0 (the default) or drop the host line for a deployment",
            ),
        )
    problems += _mount_clashes(resource, config, source)
    problems += tuple(
        Problem(
            f"account {ref.account!r} is not declared in spec.config",
            file="spec.accountCredentialRefs",
            expected="one of: " + ", ".join(sorted(known)),
        )
        for ref in resource.account_credential_refs
        if ref.account not in known
    )
    return ConfigCheck(config=config, problems=problems)
