"""Process and runtime instruments: CPU time, resident memory, threads, open files, GC collections.

Names follow the OpenTelemetry process conventions (`process.cpu.time`, ...; counts without a
`.count` suffix, which Prometheus reserves for histograms), so they reach
both /metrics and an OTLP collector; all are read at collect time, nothing on the request path.
Linux `/proc` supplies memory and open files; elsewhere those two report nothing.
"""

from __future__ import annotations

import gc
import os
import resource
import threading
from collections.abc import Iterable
from pathlib import Path

from opentelemetry.metrics import CallbackOptions, Meter, Observation

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def add_process_instruments(meter: Meter) -> None:
    meter.create_observable_counter(
        "process.cpu.time", [_cpu], unit="s", description="CPU seconds used by this process, by cpu.mode"
    )
    meter.create_observable_up_down_counter(
        "process.memory.usage", [_memory], unit="By", description="Resident memory of this process"
    )
    meter.create_observable_up_down_counter(
        "process.threads", [_threads], description="Threads of this process"
    )
    meter.create_observable_up_down_counter(
        "process.open_file_descriptors", [_files], description="Open file descriptors"
    )
    meter.create_observable_counter(
        "cpython.gc.collections", [_gc], description="Garbage collections by cpython.gc.generation"
    )


def _cpu(_options: CallbackOptions) -> Iterable[Observation]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return [
        Observation(usage.ru_utime, {"cpu.mode": "user"}),
        Observation(usage.ru_stime, {"cpu.mode": "system"}),
    ]


def _memory(_options: CallbackOptions) -> Iterable[Observation]:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return []
    return [Observation(pages * _PAGE)]


def _threads(_options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(threading.active_count())]


def _files(_options: CallbackOptions) -> Iterable[Observation]:
    try:
        return [Observation(len(os.listdir("/proc/self/fd")))]
    except OSError:
        return []


def _gc(_options: CallbackOptions) -> Iterable[Observation]:
    return [
        Observation(stats["collections"], {"cpython.gc.generation": str(generation)})
        for generation, stats in enumerate(gc.get_stats())
    ]
