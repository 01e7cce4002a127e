"""Fixtures of the controller tests: kmock's Kubernetes emulator with a controller running against it,
and the real CRD API server (per module; skipped with a visible reason when it cannot run here)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import kmock
import pytest

from controller.kube import KubeClient
from controller.main import api_client
from controller.runner import Controller
from tests.controller.emulator import ClusterEmulator
from tests.controller.realapi import RealApiServer, _kubeconfig, real_api_server
from tests.controller.tools import ToolUnavailable

SKIPPED_REAL_API = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One visible line in the CI log per reason the real-API tier was skipped."""
    for reason in dict.fromkeys(terminalreporter.config.stash.get(SKIPPED_REAL_API, [])):
        terminalreporter.write_line(f"SKIPPED: real CRD API server unavailable: {reason}", yellow=True)


@pytest.fixture(scope="module")
def real_api(request: pytest.FixtureRequest) -> Iterator[RealApiServer]:
    """The real CRD API server, up for one test module and stopped after it."""
    try:
        with real_api_server() as server:
            yield server
    except ToolUnavailable as exc:
        request.config.stash.setdefault(SKIPPED_REAL_API, []).append(str(exc))
        pytest.skip(f"real CRD API server unavailable: {exc}")


class Cluster:
    """The emulator, a kubeconfig for it, and a KubeClient bound to it."""

    def __init__(self, emulator: ClusterEmulator, url: str, kubeconfig: Path) -> None:
        self.emulator = emulator
        self.url = url
        self.kubeconfig = kubeconfig
        self.kube = KubeClient(api_client(str(kubeconfig)), timeout=5)

    async def eventually(
        self, check: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        """Wait (serving the emulator meanwhile) until `check()` is truthy; bounded by `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = check()
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with ClusterEmulator() as emulator, kmock.Server(emulator) as server:
        url = str(server.url).rstrip("/")
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(_kubeconfig(url))
        yield Cluster(emulator, url, kubeconfig)


@pytest.fixture
async def running(cluster: Cluster) -> AsyncIterator[Controller]:
    """A controller (resync every second) on a thread, stopped at teardown."""
    controller = Controller(kube=cluster.kube, namespace="default", resync_seconds=1.0)
    thread = threading.Thread(target=controller.run, daemon=True, name="controller-under-test")
    thread.start()
    yield controller
    controller.shutdown()
    for _ in range(50):  # bounded: the worker wakes at least once a second
        if not thread.is_alive():
            break
        await asyncio.sleep(0.1)
