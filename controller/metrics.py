"""The controller's Prometheus metrics, through `prometheus_client`, in a registry per controller.

No global registry (two controllers in one test process must not share counters). The loop records
through `ControllerMetrics`; the health server renders `exposition()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PREFIX = "link_assistant_controller"


class ControllerMetrics:
    """Reconciles by result, reconcile duration, errors by reason, child writes by kind, queue depth."""

    def __init__(self, queue_depth: Callable[[], float], idle_seconds: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reconciles = Counter(
            f"{PREFIX}_reconciles", "RouterConfig reconciles by result.", ["result"], registry=self.registry
        )
        self.duration = Histogram(
            f"{PREFIX}_reconcile_duration_seconds",
            "Time one RouterConfig reconcile took, API calls included.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.errors = Counter(
            f"{PREFIX}_reconcile_errors",
            "Failed reconciles by reason (the API's reason, or 'crash' for a bug).",
            ["reason"],
            registry=self.registry,
        )
        self.writes = Counter(
            f"{PREFIX}_child_writes",
            "Child objects written (only when they differed).",
            registry=self.registry,
        )
        depth = Gauge(
            f"{PREFIX}_queue_depth", "RouterConfigs waiting to be reconciled.", registry=self.registry
        )
        depth.set_function(queue_depth)
        idle = Gauge(
            f"{PREFIX}_loop_idle_seconds", "Seconds since the work loop last turned.", registry=self.registry
        )
        idle.set_function(idle_seconds)
        for result in ("ok", "error"):
            self.reconciles.labels(result=result)

    def observe(self, started: float, ok: bool, reason: str = "", written: int = 0) -> None:
        self.duration.observe(max(0.0, time.monotonic() - started))
        self.reconciles.labels(result="ok" if ok else "error").inc()
        if not ok:
            self.errors.labels(reason=reason or "unknown").inc()
        if written:
            self.writes.inc(written)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
