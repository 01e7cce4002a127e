"""Render a RouterConfig into its child objects: ConfigMap, Deployment, Service, ServiceMonitor (pure).

Input is the typed resource plus the validated config; output is plain dicts ready for server-side
apply. No I/O and no Kubernetes client here, so the controller, `config render` and the golden tests
all run exactly this code.
"""

from __future__ import annotations

from typing import Any

from controller import names
from controller.configcheck import config_hash
from controller.podspec import Manifest, pod_wiring
from controller.spec import RouterConfigResource
from dsl.model import RouterConfig

METRICS_SERVICE_PORT = 9464
TERMINATION_GRACE_SECONDS = 60


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


def _probe(initial_delay: int, period: int) -> Manifest:
    return {
        "httpGet": {"path": "/health", "port": "http"},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
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
        "readinessProbe": _probe(2, 10),
        "livenessProbe": _probe(10, 30),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if resource.resources:
        container["resources"] = {part: dict(amounts) for part, amounts in resource.resources.items()}
    return container


def template_metadata(resource: RouterConfigResource, config: RouterConfig) -> Manifest:
    """The two rollout modes. With `hot-reload on` (the default) a config change reaches the running
    pods through their mounted ConfigMap and they reload in place: the template changes, and the pods
    roll, only when the pod spec itself does (ports, env, mounts). With `hot-reload off` the template
    carries the config's hash, so every config change rolls the pods."""
    meta: Manifest = {"labels": labels(resource)}
    if not config.features.hot_reload:
        meta["annotations"] = {names.CONFIG_HASH_ANNOTATION: config_hash(resource.config)}
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
            # Roll one new pod in before an old one goes, so a config change never drops capacity.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": template_metadata(resource, config),
                "spec": {
                    # Long streaming answers get time to finish after SIGTERM.
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
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
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(resource, resource.name),
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
    children = [config_map(resource), deployment(resource, config), service(resource, config)]
    if wants_disruption_budget(resource):
        children.append(disruption_budget(resource))
    if wants_service_monitor(resource, config):
        children.append(service_monitor(resource))
    return children
