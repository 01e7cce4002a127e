"""A sidecar must be small and quick: the gateway started as the rendered sidecar starts it (config
file, socket only, admin gRPC off, memory store) loads no gRPC, Redis or Kubernetes client, stays
under 60 MB resident when idle and spends well under 1.5 s of CPU getting ready (CPU, not wall time,
so a busy machine does not fail it; `bench/sidecar.py` reports the wall time)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench.sidecar import RSS_TARGET_MB, one_start

PROBE = """
import json, sys
from dsl.model import RouterConfig, ServerConfig
from gateway.app import build_app
import gateway.cli.serve_cmd
server = ServerConfig(socket="/tmp/unused.sock", tcp=False, admin_grpc_port={port})
build_app(RouterConfig(server=server), {{"TOKEN_SECRET": "s" * 32, "HOME": "/nonexistent"}})
heavy = ("grpc", "redis", "kubernetes", "kubernetes_asyncio", "kopf", "kmock")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


@pytest.mark.parametrize(("port", "loaded"), [("None", []), ("9090", ["grpc"])])
def test_a_sidecar_gateway_loads_no_grpc_redis_or_kubernetes(port: str, loaded: list[str]) -> None:
    command = [sys.executable, "-c", PROBE.format(port=port)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == loaded  # with the admin port on, gRPC is loaded (the probe sees it)


def test_the_sidecar_is_small_idle_and_quick_to_get_ready() -> None:
    work = Path(tempfile.mkdtemp(prefix="lar-"))  # short: a socket path must fit in 108 bytes
    try:
        _, cpu_seconds, rss_mb = one_start(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert rss_mb <= RSS_TARGET_MB
    assert cpu_seconds <= 1.5
