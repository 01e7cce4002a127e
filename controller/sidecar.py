"""Render the gateway as a native sidecar of an existing workload (pure).

The output is one strategic-merge patch of the workload's pod template, for `kustomize` (`config
render --target sidecar`) and, in the same shape, for the controller's server-side apply:

* an `initContainers` entry with `restartPolicy: Always` (a Kubernetes native sidecar: started, and
  ready by its startup probe, before the app; stopped after it);
* its config from the ConfigMap `<name>-config`, its Secrets wired as for the gateway Deployment;
* the token store on a volume: memory (`emptyDir` in RAM) or the PVC `<name>-data`, as the config's
  storage policy says;
* a shared `emptyDir` holding the socket, bound to the pod's key from the Secret `<name>-key`;
* env for the app container: `ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL` (TCP on localhost), the key
  from the Secret, and the socket path.

Every volume, mount and port of ours is prefixed `router-` so it never collides with the app's.
"""

from __future__ import annotations

from controller import names
from controller.configcheck import config_hash
from controller.podspec import Manifest, pod_wiring
from controller.spec import RouterConfigResource, Workload
from dsl.model import RouterConfig, StoragePolicy

SIDECAR_NAME = "link-assistant-router"
SOCKET_DIR = "/run/link-assistant-router"
SOCKET_PATH = f"{SOCKET_DIR}/gateway.sock"
KEY_DIR = "/etc/link-assistant-router-key"
KEY_PATH = f"{KEY_DIR}/key"
PREFIX = "router-"
SIDECAR_OF_LABEL = "router.link-assistant.dev/sidecar-of"
"""On the patched workload: which RouterConfig's sidecar it carries (the controller finds it by this)."""
DEFAULT_RESOURCES: Manifest = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}


def key_secret(resource: RouterConfigResource) -> str:
    return f"{resource.name}-key"


def data_claim(resource: RouterConfigResource) -> str:
    return f"{resource.name}-data"


def _prefixed(items: tuple[Manifest, ...]) -> list[Manifest]:
    return [{**item, "name": PREFIX + item["name"]} for item in items]


def _volumes(resource: RouterConfigResource, config: RouterConfig) -> list[Manifest]:
    volumes = []
    for volume in _prefixed(pod_wiring(resource, config).volumes):
        if volume["name"] == PREFIX + "data":
            volume = {"name": volume["name"], **_store_volume(resource, config)}
        volumes.append(volume)
    volumes.append({"name": PREFIX + "socket", "emptyDir": {}})
    volumes.append({"name": PREFIX + "key", "secret": {"secretName": key_secret(resource)}})
    return volumes


def _store_volume(resource: RouterConfigResource, config: RouterConfig) -> Manifest:
    if config.storage.policy is StoragePolicy.MEMORY:
        return {"emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}
    return {"persistentVolumeClaim": {"claimName": data_claim(resource)}}


def _probe(kind: str) -> Manifest:
    timing = {
        "startupProbe": {"periodSeconds": 1, "failureThreshold": 30},
        "readinessProbe": {"periodSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {"periodSeconds": 30, "failureThreshold": 3},
    }[kind]
    return {"httpGet": {"path": "/health", "port": PREFIX + "http"}, "timeoutSeconds": 3, **timing}


def sidecar_container(resource: RouterConfigResource, config: RouterConfig) -> Manifest:
    wiring = pod_wiring(resource, config)
    env = [
        *wiring.env,
        {"name": "ROUTER_SOCKET", "value": SOCKET_PATH},
        {"name": "ROUTER_DEFAULT_KEY_FILE", "value": KEY_PATH},
        # The app needs no admin API; leaving it off keeps the sidecar small (no gRPC server loaded).
        {"name": "ADMIN_GRPC_PORT", "value": "off"},
    ]
    mounts = [
        *_prefixed(wiring.mounts),
        {"name": PREFIX + "socket", "mountPath": SOCKET_DIR},
        {"name": PREFIX + "key", "mountPath": KEY_DIR, "readOnly": True},
    ]
    resources = resource.resources or DEFAULT_RESOURCES
    return {
        "name": SIDECAR_NAME,
        "image": resource.image,
        "imagePullPolicy": resource.image_pull_policy,
        "restartPolicy": "Always",
        "args": ["serve", "--config", names.CONFIG_PATH],
        "workingDir": names.GATEWAY_HOME,
        "ports": [{"name": PREFIX + "http", "containerPort": config.server.port, "protocol": "TCP"}],
        "env": env,
        "volumeMounts": mounts,
        "startupProbe": _probe("startupProbe"),
        "readinessProbe": _probe("readinessProbe"),
        "livenessProbe": _probe("livenessProbe"),
        "resources": {part: dict(amounts) for part, amounts in resources.items()},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": names.GATEWAY_UID,
            "runAsGroup": names.GATEWAY_UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def app_container(resource: RouterConfigResource, config: RouterConfig, workload: Workload) -> Manifest:
    base = f"http://127.0.0.1:{config.server.port}"

    def key() -> Manifest:
        return {"secretKeyRef": {"name": key_secret(resource), "key": "key"}}

    return {
        "name": workload.container,
        "env": [
            {"name": "ANTHROPIC_BASE_URL", "value": base},
            {"name": "OPENAI_BASE_URL", "value": base + "/v1"},
            {"name": "ANTHROPIC_API_KEY", "valueFrom": key()},
            {"name": "OPENAI_API_KEY", "valueFrom": key()},
            {"name": "LINK_ASSISTANT_ROUTER_SOCKET", "value": SOCKET_PATH},
        ],
        "volumeMounts": [{"name": PREFIX + "socket", "mountPath": SOCKET_DIR}],
    }


def pod_template_patch(resource: RouterConfigResource, config: RouterConfig, workload: Workload) -> Manifest:
    return {
        "metadata": {"annotations": {names.CONFIG_HASH_ANNOTATION: config_hash(resource.config)}},
        "spec": {
            # The socket file takes the group of its setgid emptyDir, the pod's fsGroup, which the app
            # container also holds: that is how mode 0660 lets the app (and nobody else) connect.
            "securityContext": {"fsGroup": names.GATEWAY_UID},
            "initContainers": [sidecar_container(resource, config)],
            "containers": [app_container(resource, config, workload)],
            "volumes": _volumes(resource, config),
        },
    }


def sidecar_patch(resource: RouterConfigResource, config: RouterConfig, workload: Workload) -> Manifest:
    """The strategic-merge patch that adds the gateway to `workload` (also an apply configuration)."""
    metadata: Manifest = {"name": workload.name}
    if resource.uid:  # the controller applies it in the RouterConfig's namespace, and finds it again
        metadata["namespace"] = resource.namespace
        metadata["labels"] = {SIDECAR_OF_LABEL: resource.name}
    return {
        "apiVersion": "apps/v1",
        "kind": workload.kind,
        "metadata": metadata,
        "spec": {"template": pod_template_patch(resource, config, workload)},
    }
