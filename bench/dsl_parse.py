"""Benchmark: parse + validate a large config (1,000 providers, 200 accounts) with the real DSL code.

Prints the median wall time (and CPU time, steadier on a shared machine) of several runs of
`dsl.config.load_config` (parser + loader + validation) on one core.
Target: under 300 ms. Run: `.venv/bin/python bench/dsl_parse.py` (or `make bench`).
"""

from __future__ import annotations

import argparse
import statistics
import time

from dsl.config import load_config


def generate(providers: int, accounts: int) -> str:
    """A realistic config: every block, accounts in both credential forms, seed-form providers."""
    lines = [
        "# generated benchmark config",
        "server:",
        "  port 8080",
        "  admin-grpc-port 9090",
        "routing:",
        "  strategy least-used",
        "  cooldown 60s",
        "  retry-before-first-byte 2",
        "storage:",
        "  policy both",
        "  data-dir /var/lib/link-assistant-router",
        "features:",
        "  openai-api on",
        "  metrics on",
        "accounts:",
    ]
    for i in range(accounts):
        lines.append(f"  account-{i}:")
        if i % 2:
            lines.append(f"    api-key-env ANTHROPIC_KEY_{i}")
        else:
            lines.append(f"    oauth-home /data/claude/account-{i}")
        lines += [f"    priority {i % 5}", f"    weight {1 + i % 3}"]
        lines.append("    models claude-sonnet-4-5 claude-haiku-4-5")
    lines.append("providers:")
    for i in range(providers):
        lines += [
            f"  provider-{i}",
            '    kind "openai-compatible"',
            f'    base-url "http://litellm-{i}.internal:4000/v1"',
            '    model "claude-sonnet"',
            '    models "claude-sonnet,gpt-4o"',
            f'    api-key-env "PROVIDER_KEY_{i}"',
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    text = generate(args.providers, args.accounts)
    config = load_config(text, "bench.lino")  # warm-up, and proof the text is valid
    assert len(config.providers) == args.providers and len(config.accounts) == args.accounts
    timings, cpu = [], []
    for _ in range(args.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        load_config(text, "bench.lino")
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    print(
        f"dsl parse+validate: {args.providers} providers, {args.accounts} accounts, "
        f"{len(text.splitlines())} lines, {len(text) / 1024:.0f} KiB: "
        f"median {statistics.median(timings):.1f} ms (min {min(timings):.1f}, max {max(timings):.1f}, "
        f"{args.runs} runs; target < 300 ms); CPU median {statistics.median(cpu):.1f} ms"
    )


if __name__ == "__main__":
    main()
