"""Render a RouterConfig into its child objects: ConfigMap, PersistentVolumeClaim (one gateway without
Redis), Deployment, Service, PodDisruptionBudget, ServiceMonitor (pure).

Input is the typed resource plus the validated config; output is plain dicts ready for server-side
apply. No I/O and no Kubernetes client here, so the controller, `config render` and the golden tests
all run exactly this code.
"""

from __future__ import annotations

from typing import Any

from controller import names
from controller.configcheck import config_hash
from controller.persistence import (
    claim_name,
    persistent_volume_claim,
    termination_grace_seconds,
    wants_claim,
)
from controller.podspec import Manifest, pod_wiring
from controller.spec import RouterConfigResource
from dsl.model import RouterConfig

METRICS_SERVICE_PORT = 9464


def labels(resource: RouterConfigResource) -> dict[str, str]:
    """Labels of every child; the first two are the selector and never change."""
    return {
        "app.kubernetes.io/name": names.APP_NAME,
        "app.kubernetes.io/instance": resource.name,
        "app.kubernetes.io/component": "gateway",
        "app.kubernetes.io/managed-by": names.FIELD_MANAGER,
    }


def selector(resource: RouterConfigResource) -> dict[str, str]:
    return {"app.kubernetes.io/name": names.APP_NAME, "app.kubernetes.io/instance": resource.name}


def owner_reference(resource: RouterConfigResource) -> Manifest:
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "name": resource.name,
        "uid": resource.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _metadata(resource: RouterConfigResource, name: str) -> Manifest:
    meta: Manifest = {"name": name, "namespace": resource.namespace, "labels": labels(resource)}
    if resource.uid:  # `config render` has no owner: the objects stand alone
        meta["ownerReferences"] = [owner_reference(resource)]
    return meta


def config_map(resource: RouterConfigResource) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(resource, f"{resource.name}-config"),
        "data": {names.CONFIG_FILE_NAME: resource.config},
    }


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def serves_grpc_admin(config: RouterConfig) -> bool:
    """A loopback-only admin listener is deliberately private: no port, no Service entry."""
    return config.server.admin_grpc_port is not None and not is_loopback(config.server.admin_grpc_bind_host)


def _ports(config: RouterConfig) -> list[Manifest]:
    ports: list[Manifest] = [{"name": "http", "containerPort": config.server.port, "protocol": "TCP"}]
    if serves_grpc_admin(config):
        ports.append(
            {"name": "grpc-admin", "containerPort": config.server.admin_grpc_port, "protocol": "TCP"}
        )
    return ports


def _probe(path: str, initial_delay: int, period: int, failures: int) -> Manifest:
    return {
        "httpGet": {"path": path, "port": "http"},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def gateway_container(resource: RouterConfigResource, config: RouterConfig) -> Manifest:
    wiring = pod_wiring(resource, config)
    container: Manifest = {
        "name": "gateway",
        "image": resource.image,
        "imagePullPolicy": resource.image_pull_policy,
        "args": ["serve", "--config", names.CONFIG_PATH],
        "workingDir": names.GATEWAY_HOME,
        "ports": _ports(config),
        "env": list(wiring.env),
        "volumeMounts": list(wiring.mounts),
        # /ready fails first on SIGTERM (and while the store or every account is unusable), so the
        # Service stops sending before the listener closes; /health only says the process answers.
        # One failed check is enough: within the 5 s shutdown delay the pod is out of rotation.
        "readinessProbe": _probe("/ready", 2, 5, 1),
        "livenessProbe": _probe("/health", 10, 30, 3),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    container["resources"] = effective_resources(resource)
    return container


# What a gateway asks for unless the spec says otherwise: enough for a few hundred concurrent streams,
# and a memory limit so a leak cannot take the node down. No CPU limit: throttling stalls streams.
DEFAULT_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"memory": "512Mi"},
}


def effective_resources(resource: RouterConfigResource) -> dict[str, dict[str, str]]:
    source = resource.resources or DEFAULT_RESOURCES
    return {part: dict(amounts) for part, amounts in source.items()}


def _strategy(config: RouterConfig) -> Manifest:
    if wants_claim(config):
        # One gateway owns the claim (ReadWriteOnce, one writer of the store): the old pod goes first.
        return {"type": "Recreate"}
    # Roll one new pod in before an old one goes, so a config change never drops capacity.
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def _pod_options(resource: RouterConfigResource) -> Manifest:
    """The scheduling options of the spec, only those set (an empty list is not the same as none)."""
    pod = resource.pod
    options: Manifest = {
        "nodeSelector": dict(pod.node_selector),
        "tolerations": [dict(t) for t in pod.tolerations],
        "affinity": dict(pod.affinity),
        "topologySpreadConstraints": [dict(t) for t in pod.topology_spread_constraints],
        "imagePullSecrets": [{"name": name} for name in pod.image_pull_secrets],
    }
    return {key: value for key, value in options.items() if value}


def claim(resource: RouterConfigResource) -> Manifest:
    return persistent_volume_claim(resource, _metadata(resource, claim_name(resource)))


def template_metadata(resource: RouterConfigResource, config: RouterConfig) -> Manifest:
    """The two rollout modes. With `hot-reload on` (the default) a config change reaches the running
    pods through their mounted ConfigMap and they reload in place: the template changes, and the pods
    roll, only when the pod spec itself does (ports, env, mounts). With `hot-reload off` the template
    carries the config's hash, so every config change rolls the pods."""
    meta: Manifest = {"labels": labels(resource)}
    annotations = dict(resource.pod.pod_annotations)
    if not config.features.hot_reload:
        # The hash outranks a user's annotation of the same name.
        annotations[names.CONFIG_HASH_ANNOTATION] = config_hash(resource.config)
    if annotations:
        meta["annotations"] = annotations
    return meta


def deployment(resource: RouterConfigResource, config: RouterConfig) -> Manifest:
    wiring = pod_wiring(resource, config)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(resource, resource.name),
        "spec": {
            "replicas": resource.replicas,
            "selector": {"matchLabels": selector(resource)},
            "strategy": _strategy(config),
            "template": {
                "metadata": template_metadata(resource, config),
                "spec": {
                    # Long streaming answers get the config's shutdown grace to finish after SIGTERM.
                    "terminationGracePeriodSeconds": termination_grace_seconds(config),
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": names.GATEWAY_UID,
                        "runAsGroup": names.GATEWAY_UID,
                        "fsGroup": names.GATEWAY_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [gateway_container(resource, config)],
                    "volumes": list(wiring.volumes),
                    **_pod_options(resource),
                },
            },
        },
    }


def service(resource: RouterConfigResource, config: RouterConfig) -> Manifest:
    ports: list[Manifest] = [
        {"name": "http", "port": config.server.port, "targetPort": "http", "protocol": "TCP"}
    ]
    if serves_grpc_admin(config):
        ports.append(
            {
                "name": "grpc-admin",
                "port": config.server.admin_grpc_port,
                "targetPort": "grpc-admin",
                "protocol": "TCP",
            }
        )
    if config.features.metrics:
        # The gateway serves /metrics on its HTTP listener; a named port lets monitors select it.
        ports.append(
            {"name": "metrics", "port": METRICS_SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
        )
    metadata = _metadata(resource, resource.name)
    if resource.pod.service_annotations:
        metadata["annotations"] = dict(resource.pod.service_annotations)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"type": resource.service_type, "selector": selector(resource), "ports": ports},
    }


def service_monitor(resource: RouterConfigResource) -> Manifest:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _metadata(resource, resource.name),
        "spec": {
            "selector": {"matchLabels": selector(resource)},
            "endpoints": [
                {"port": "metrics", "path": "/metrics", "interval": resource.service_monitor.interval}
            ],
        },
    }


def wants_service_monitor(resource: RouterConfigResource, config: RouterConfig) -> bool:
    return resource.service_monitor.enabled and config.features.metrics


def wants_disruption_budget(resource: RouterConfigResource) -> bool:
    return resource.replicas >= 2


def disruption_budget(resource: RouterConfigResource) -> Manifest:
    """With several gateways, node drains take them down one at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(resource, resource.name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(resource)}},
    }


def optional_children(resource: RouterConfigResource, config: RouterConfig) -> list[tuple[str, str, bool]]:
    """(apiVersion, kind, wanted) of the children that come and go with the spec."""
    return [
        ("monitoring.coreos.com/v1", "ServiceMonitor", wants_service_monitor(resource, config)),
        ("policy/v1", "PodDisruptionBudget", wants_disruption_budget(resource)),
    ]


def render_children(resource: RouterConfigResource, config: RouterConfig) -> list[dict[str, Any]]:
    """Every child object of a valid RouterConfig, in apply order (config before the pods that read it)."""
    children = [config_map(resource)]
    if wants_claim(config):
        children.append(claim(resource))
    children += [deployment(resource, config), service(resource, config)]
    if wants_disruption_budget(resource):
        children.append(disruption_budget(resource))
    if wants_service_monitor(resource, config):
        children.append(service_monitor(resource))
    return children
