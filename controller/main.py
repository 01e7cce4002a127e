"""Wiring of the controller process: API client from kubeconfig or in-cluster, loop, health, signals.

`link-assistant-router controller` and `python -m controller` both end here.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from controller import names

if TYPE_CHECKING:
    from kubernetes import client as k8s

log = logging.getLogger("controller")
MAX_RESYNC_SECONDS = 86400


@dataclass(frozen=True)
class Options:
    kubeconfig: str | None = None
    namespace: str | None = None
    resync_seconds: float = 30.0
    gateway_image: str = names.DEFAULT_IMAGE
    health_port: int = 8081
    health_host: str = "0.0.0.0"
    leader_elect: bool = False
    lease_namespace: str = "default"


class ControllerConfigError(RuntimeError):
    """No way to reach a Kubernetes API was found."""


def api_client(kubeconfig: str | None) -> k8s.ApiClient:
    """In-cluster credentials inside a pod, else the given or default kubeconfig."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    # The kubernetes package ships these untyped.
    _load_kube_config = cast(Callable[..., None], k8s_config.load_kube_config)
    _load_incluster_config = cast(Callable[..., None], k8s_config.load_incluster_config)
    configuration = k8s.Configuration()
    try:
        if kubeconfig:
            _load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            _load_incluster_config(client_configuration=configuration)
        else:
            _load_kube_config(client_configuration=configuration)
    except (k8s_config.ConfigException, OSError) as exc:
        raise ControllerConfigError(f"cannot load Kubernetes credentials: {exc}") from exc
    return k8s.ApiClient(configuration)


def run(options: Options) -> int:
    """Run the controller until SIGTERM/SIGINT; the exit code for the CLI."""
    from controller.health import start_health_server
    from controller.kube import KubeClient
    from controller.leader import LeaderElector
    from controller.runner import Controller

    try:
        kube = KubeClient(api_client(options.kubeconfig))
    except ControllerConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elector = None
    if options.leader_elect:
        identity = f"{os.environ.get('POD_NAME') or socket.gethostname()}-{uuid.uuid4().hex[:6]}"
        elector = LeaderElector(kube, options.lease_namespace, identity)
    controller = Controller(
        kube=kube,
        namespace=options.namespace or None,
        resync_seconds=options.resync_seconds,
        default_image=options.gateway_image,
        elector=elector,
    )
    health = None
    if options.health_port:
        try:
            health = start_health_server(
                options.health_host, options.health_port, controller.stats, controller.metrics.exposition
            )
        except OSError as exc:
            print(
                f"error: cannot serve /healthz on port {options.health_port}: {exc.strerror}", file=sys.stderr
            )
            return 2

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        # Not inline: the handler may interrupt the worker while it holds the queue's lock.
        threading.Thread(target=controller.shutdown, name="shutdown").start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scope = f"namespace {options.namespace}" if options.namespace else "all namespaces"
    log.info(
        "watching %s.%s in %s (resync every %ss)", names.PLURAL, names.GROUP, scope, options.resync_seconds
    )
    try:
        controller.run()
    finally:
        if health is not None:
            health.shutdown()
    return 1 if controller.lost_leadership else 0  # non-zero: the pod restarts and campaigns again


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 1 <= seconds <= MAX_RESYNC_SECONDS:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and {MAX_RESYNC_SECONDS} seconds")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--kubeconfig",
        default=env("KUBECONFIG") or None,
        help="kubeconfig file (env KUBECONFIG); default: in-cluster, else ~/.kube/config",
    )
    parser.add_argument(
        "--namespace",
        default=env("WATCH_NAMESPACE", ""),
        help="watch only this namespace (env WATCH_NAMESPACE); default: all namespaces",
    )
    parser.add_argument(
        "--resync-seconds",
        type=_seconds,
        default=env("RESYNC_SECONDS", "30"),
        help="re-list and reconcile everything this often, 1 to 86400 (env RESYNC_SECONDS; default 30)",
    )
    parser.add_argument(
        "--gateway-image",
        default=env("GATEWAY_IMAGE", names.DEFAULT_IMAGE),
        help="gateway image for RouterConfigs without spec.image (env GATEWAY_IMAGE)",
    )
    parser.add_argument(
        "--health-port",
        type=_port,
        default=env("HEALTH_PORT", "8081"),
        help="port of /healthz and /metrics, 0 to disable (env HEALTH_PORT; default 8081)",
    )
    parser.add_argument(
        "--leader-elect",
        nargs="?",
        const="true",
        default=env("LEADER_ELECT", "false"),
        help="run the loop only while holding a Lease, so several replicas can stand by (env LEADER_ELECT)",
    )
    parser.add_argument(
        "--lease-namespace",
        default=env("POD_NAMESPACE", "default"),
        help="namespace of the leader-election Lease (env POD_NAMESPACE; default 'default')",
    )


def options_from_args(args: argparse.Namespace) -> Options:
    kubeconfig = args.kubeconfig
    if kubeconfig and not Path(kubeconfig).exists():
        kubeconfig = kubeconfig.split(os.pathsep)[0]
    return Options(
        kubeconfig=kubeconfig,
        namespace=args.namespace or None,
        resync_seconds=float(args.resync_seconds),
        gateway_image=args.gateway_image,
        health_port=args.health_port,
        leader_elect=str(args.leader_elect).lower() in ("1", "true", "yes", "on"),
        lease_namespace=args.lease_namespace,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="link-assistant-router-controller", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(options_from_args(args))
