"""Render a values file for charts/link-assistant-router-gateway from a RouterConfig (pure).

The gateway chart runs one gateway without the controller; with these values and the release named
like the resource, `helm template` yields the same pods as the controller (a test compares them).
"""

from __future__ import annotations

from typing import Any

from controller import names
from controller.podspec import data_dir, pod_wiring
from controller.render import METRICS_SERVICE_PORT, serves_grpc_admin
from controller.spec import RouterConfigResource
from dsl.model import RouterConfig

# The chart adds these itself (their names depend on the release name).
_CHART_VOLUMES = {"config", "data", "tmp", "home"}


def render_values(resource: RouterConfigResource, config: RouterConfig) -> dict[str, Any]:
    wiring = pod_wiring(resource, config)
    return {
        "image": resource.image,
        "imagePullPolicy": resource.image_pull_policy,
        "replicas": resource.replicas,
        "config": resource.config,
        "rollOnConfigChange": not config.features.hot_reload,
        "ports": {
            "http": config.server.port,
            "grpcAdmin": config.server.admin_grpc_port if serves_grpc_admin(config) else None,
        },
        "workingDir": names.GATEWAY_HOME,
        "metrics": {"enabled": config.features.metrics, "servicePort": METRICS_SERVICE_PORT},
        "dataDir": data_dir(config),
        "configPath": names.CONFIG_PATH,
        "env": list(wiring.env),
        "extraVolumes": [v for v in wiring.volumes if v["name"] not in _CHART_VOLUMES],
        "extraVolumeMounts": [m for m in wiring.mounts if m["name"] not in _CHART_VOLUMES],
        "resources": {part: dict(amounts) for part, amounts in resource.resources.items()},
        "service": {"type": resource.service_type},
        "serviceMonitor": {
            "enabled": resource.service_monitor.enabled,
            "interval": resource.service_monitor.interval,
        },
    }
