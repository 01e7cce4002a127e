"""The issue's benchmark as a test: parse + validate 1,000 providers and 200 accounts in < 300 ms.

Uses the config `bench/dsl_parse.py` generates, and counts CPU time (best of five), so other work
on a shared machine does not count against the parser.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType

from dsl.config import load_config

BENCH = Path(__file__).resolve().parents[2] / "bench" / "dsl_parse.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_dsl_parse", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_thousand_providers_and_two_hundred_accounts_load_in_under_300_ms() -> None:
    text = _bench().generate(1000, 200)
    config = load_config(text, "bench.lino")  # warm-up, and proof the generated text is valid
    assert len(config.providers) == 1000 and len(config.accounts) == 200
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        load_config(text, "bench.lino")
        best = min(best, time.process_time() - started)
    print(f"dsl parse+validate (1,000 providers, 200 accounts): {best * 1000:.0f} ms CPU")
    assert best < 0.300
