"""Proxy benchmark: wrk against a fast upstream stand-in, direct vs through one gateway process.

    python bench/proxy.py [--duration 5] [--account apikey|oauth]

Starts (all on 127.0.0.1, all stopped by PID at the end):
- a minimal aiohttp upstream stand-in (this file with `--upstream`): fixed Anthropic JSON and SSE bytes;
- the real gateway process (`python -m gateway.cli.main serve`) in front of it, with a temp data dir,
  one upstream account and one unlimited la_sk key.
Then runs wrk for non-streaming and streaming Messages at concurrency 1 and 64, direct and through
the gateway, then OpenAI Chat Completions (JSON and stream, c=64: translated to Messages for the same
stand-in; no direct or floor figure, neither speaks that API), and prints added latency p50/p99,
requests/second and the gateway's CPU µs per request
(process utime+stime from /proc over requests served). Targets: added p50 < 1 ms at c=1 and
>= 2,000 req/s through one gateway process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."
REQUEST = {
    "model": "claude-bench-1",
    "max_tokens": 64,
    "system": [{"type": "text", "text": IDENTITY}],
    "messages": [{"role": "user", "content": "Say hello in five words."}],
}
CHAT_REQUEST = {
    "model": "claude-bench-1",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Say hello in five words."}],
}

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["content-type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
local key = os.getenv("BENCH_KEY")
if key ~= nil and key ~= "" then wrk.headers["x-api-key"] = key end
done = function(summary, latency, requests)
  local e = summary.errors
  local fmt = 'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n'
  io.write(string.format(fmt,
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


# -- the upstream stand-in ------------------------------------------------------------------------
def _upstream_bodies() -> tuple[bytes, bytes]:
    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench-1",
        "content": [{"type": "text", "text": "Hello there, friend of mine."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }
    start = dict(message, content=[], stop_reason=None, usage={"input_tokens": 12, "output_tokens": 1})
    events = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
    ]
    for word in ["Hello", " there,", " friend", " of", " mine."]:
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}},
            )
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 7},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    sse = b"".join(f"event: {e}\ndata: {json.dumps(d)}\n\n".encode() for e, d in events)
    return json.dumps(message).encode(), sse


def run_upstream(port: int) -> None:
    from aiohttp import web

    json_body, sse_body = _upstream_bodies()

    async def messages(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if b'"stream": true' in body or b'"stream":true' in body:
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            await response.write(sse_body)
            await response.write_eof()
            return response
        return web.Response(body=json_body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# -- the floor: the smallest aiohttp pass-through (what performance-anchors.md measured) ----------------
def run_floor(port: int, upstream: str) -> None:
    import aiohttp
    from aiohttp import web

    drop_in = {"host", "content-length", "x-api-key", "authorization", "connection", "accept-encoding"}
    drop_out = {"transfer-encoding", "connection", "content-length", "date", "server"}
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def session_ctx(app: web.Application) -> AsyncIterator[None]:
        app[session_key] = aiohttp.ClientSession(auto_decompress=False)
        yield
        await app[session_key].close()

    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in drop_in}
        headers["x-api-key"] = "sk-ant-api03-floor"
        async with request.app[session_key].request(
            request.method, upstream + request.path_qs, data=body, headers=headers
        ) as up:
            out = {k: v for k, v in up.headers.items() if k.lower() not in drop_out}
            response = web.StreamResponse(status=up.status, headers=out)
            await response.prepare(request)
            async for chunk in up.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application()
    app.cleanup_ctx.append(session_ctx)
    app.router.add_route("*", "/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# -- orchestration --------------------------------------------------------------------------------
@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_us: int
    p50_us: int
    p99_us: int
    errors: int
    non2xx: int

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wrk(url: str, script: Path, connections: int, duration: float, body: bytes, key: str) -> WrkResult:
    env = {**os.environ, "BENCH_BODY": body.decode(), "BENCH_KEY": key}
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    match = re.search(r"BENCH (\{.*\})", out)
    if not match:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    return WrkResult(**json.loads(match.group(1)))


def start_gateway(upstream: str, tmp: Path, account: str) -> tuple[subprocess.Popen[str], str]:
    home = tmp / "claude"
    home.mkdir()
    (home / ".credentials.json").write_text(
        json.dumps({"claudeAiOauth": {"accessToken": "sk-ant-oat01-bench"}})
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "TOKEN_SECRET": "bench-secret-0123456789abcdef",
        "DATA_DIR": str(tmp / "data"),
        "UPSTREAM_BASE_URL": upstream,
        "ROUTER_HOST": "127.0.0.1",
        "ROUTER_PORT": "0",
        "ADMIN_GRPC_PORT": "off",
        "LOG_LEVEL": "info",  # the "Listening on" line tells us the port
    }
    args = [sys.executable, "-m", "gateway.cli.main", "serve"]
    if account == "apikey":
        config = tmp / "bench.lino"
        config.write_text("accounts:\n  bench:\n    api-key-env BENCH_UPSTREAM_KEY\n")
        env["BENCH_UPSTREAM_KEY"] = "sk-ant-api03-bench"
        args += ["--config", str(config)]
    else:
        env["CLAUDE_CODE_HOME"] = str(home)
    proc = subprocess.Popen(
        args, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError("gateway exited during start-up")
        found = re.search(r"Listening on (\S+):(\d+)", line)
        if found:
            # Keep draining stderr so the gateway never blocks on a full pipe.
            threading.Thread(target=_drain, args=(proc.stderr,), daemon=True).start()
            return proc, f"http://{found.group(1)}:{found.group(2)}"
    raise RuntimeError("gateway did not start")


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def issue_key(gateway: str) -> str:
    request = urllib.request.Request(
        gateway + "/api/tokens",
        data=json.dumps({"ttl_hours": 1, "label": "bench"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["token"])


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument(
        "--account",
        choices=("apikey", "oauth"),
        default="apikey",
        help="apikey: pure pass-through; oauth: Bearer + beta + identity check",
    )
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", default="", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        run_upstream(args.port)
        return 0
    if args.floor:
        run_floor(args.port, args.floor)
        return 0
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (Debian package `wrk`; .ci/run installs it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmpdir:
        tmp = Path(tmpdir)
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT)
        port = free_port()
        upstream_proc = subprocess.Popen(
            [sys.executable, __file__, "--upstream", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        gateway_proc: subprocess.Popen[str] | None = None
        floor_port = free_port()
        upstream = f"http://127.0.0.1:{port}"
        floor_proc = subprocess.Popen(
            [sys.executable, __file__, "--floor", upstream, "--port", str(floor_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(upstream + "/v1/messages")
            floor = f"http://127.0.0.1:{floor_port}"
            wait_http(floor + "/health")
            gateway_proc, gateway = start_gateway(upstream, tmp, args.account)
            key = issue_key(gateway)
            print(
                f"account={args.account}, {args.duration:.0f}s per run, wrk on 127.0.0.1, "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
                "added = p50/p99 latency over direct to the stand-in; floor = the smallest aiohttp "
                "pass-through, measured alongside\n"
            )
            header = (
                f"{'scenario':<13}{'direct rps':>11} | {'gateway added ms':>17}{'rps':>7}"
                f"{'CPU µs/req':>11} | {'floor added ms':>17}{'rps':>7}{'CPU µs/req':>11}"
            )
            print(header)
            print("-" * len(header))
            tick = os.sysconf("SC_CLK_TCK")
            for stream in (False, True):
                body = json.dumps({**REQUEST, "stream": stream}).encode()
                for connections in (1, 64):
                    path = "/v1/messages"
                    direct = wrk(upstream + path, script, connections, args.duration, body, "")
                    row = (
                        f"{('stream' if stream else 'json') + f' c={connections}':<13}{direct.rps:>11,.0f} |"
                    )
                    for proc, base in ((gateway_proc, gateway), (floor_proc, floor)):
                        wrk(base + path, script, connections, 1.0, body, key)  # warm-up
                        before = cpu_ticks(proc.pid)
                        through = wrk(base + path, script, connections, args.duration, body, key)
                        cpu_us = (cpu_ticks(proc.pid) - before) / tick * 1e6 / max(1, through.requests)
                        p50 = (through.p50_us - direct.p50_us) / 1000
                        added = f"{p50:.2f}/{(through.p99_us - direct.p99_us) / 1000:.1f}"
                        bad = through.errors + through.non2xx
                        row += (
                            f"{added:>17}{through.rps:>7,.0f}{cpu_us:>11,.0f}"
                            + (f" ({bad} bad!)" if bad else "")
                            + " |"
                        )
                    print(row.rstrip(" |"))
            for stream in (False, True):
                body = json.dumps({**CHAT_REQUEST, "stream": stream}).encode()
                base, path = gateway, "/v1/chat/completions"
                wrk(base + path, script, 64, 1.0, body, key)  # warm-up
                before = cpu_ticks(gateway_proc.pid)
                through = wrk(base + path, script, 64, args.duration, body, key)
                cpu_us = (cpu_ticks(gateway_proc.pid) - before) / tick * 1e6 / max(1, through.requests)
                bad = through.errors + through.non2xx
                name = "chat " + ("stream" if stream else "json") + " c=64"
                print(
                    f"{name:<18}{'-':>6} | {'-':>17}{through.rps:>7,.0f}{cpu_us:>11,.0f}"
                    + (f" ({bad} bad!)" if bad else "")
                )
        finally:
            if gateway_proc is not None:
                stop(gateway_proc)
            stop(floor_proc)
            stop(upstream_proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
