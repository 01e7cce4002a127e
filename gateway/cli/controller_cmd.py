"""`link-assistant-router controller`: run the Kubernetes controller for RouterConfig objects.

Only wiring: the controller package does the work (it never imports the gateway).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def _handle(args: argparse.Namespace) -> int:
    from controller.main import options_from_args, run

    verbose = bool(getattr(args, "verbose", False))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return run(options_from_args(args))
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] != "kubernetes":
            raise
        # The gateway image leaves the Kubernetes client out; the controller image has it.
        print(
            "error: the controller needs the Kubernetes client, which this installation lacks: use the "
            "controller image (docker build --target controller) or pip install "
            "'link-assistant-router[controller]'",
            file=sys.stderr,
        )
        return 2


def register(subparsers: Any) -> None:
    from controller.main import add_arguments

    parser = subparsers.add_parser(
        "controller",
        help="run the Kubernetes controller (RouterConfig → gateway Deployment)",
        description="Watch RouterConfig objects (router.link-assistant.dev/v1alpha1) and keep each one's "
        "ConfigMap, Deployment, Service and optional ServiceMonitor in line with its DSL config. "
        "Invalid configs are reported in status and as Events; running pods are left alone.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=_handle)
