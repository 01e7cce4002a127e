"""Benchmark of the gateway as a sidecar: how fast it is ready and how small it stays idle.

Starts the real process the way the rendered sidecar does (config file, socket only, admin gRPC off,
memory store) several times and measures, per start: wall time until `GET /health` answers on the
socket, the CPU time the process spent getting there (steadier than wall time on shared cores), and
its resident memory after idling. Prints medians and the load average; exits non-zero on a miss.
Targets: ready ≤ 1.5 s, idle RSS ≤ 60 MB.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY_TARGET_S = 1.5
RSS_TARGET_MB = 60.0
STARTS = 5
IDLE_S = 2.0
CONFIG = "storage:\n  policy memory\nupstream:\n  provider anthropic\n"


def healthy(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(1.0)
        try:
            conn.connect(path)
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: sidecar\r\nConnection: close\r\n\r\n")
            return conn.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def one_start(work: Path) -> tuple[float, float, float]:
    sock = str(work / "gw.sock")
    (work / "router.lino").write_text(CONFIG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        TOKEN_SECRET="bench-sidecar-secret-0123456789",
        DATA_DIR=str(work / "data"),
        ROUTER_SOCKET=sock,
        DISABLE_TCP="1",
        ADMIN_GRPC_PORT="off",
    )
    command = [sys.executable, "-m", "gateway.cli.main", "serve", "--config", str(work / "router.lino")]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=work, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 30
        while not healthy(sock):
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError("the gateway did not become ready")
            time.sleep(0.005)
        ready = time.perf_counter() - started
        cpu = proc_cpu_seconds(process.pid)
        time.sleep(IDLE_S)
        return ready, cpu, proc_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> int:
    results = []
    for _ in range(STARTS):
        work = Path(tempfile.mkdtemp(prefix="lar-bench-"))
        try:
            results.append(one_start(work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    ready = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[1] for r in results)
    rss = statistics.median(r[2] for r in results)
    load = os.getloadavg()[0]
    print(f"sidecar: ready in {ready:.2f} s (median of {STARTS}; {cpu:.2f} s CPU), idle RSS {rss:.1f} MB")
    cores = os.cpu_count()
    print(f"  load average {load:.2f} on {cores} cores; targets: ready ≤ {READY_TARGET_S} s, RSS ≤ 60 MB")
    missed = ready > READY_TARGET_S or rss > RSS_TARGET_MB
    if missed:
        print("  MISSED a target", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
