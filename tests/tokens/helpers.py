"""Shared helpers for the token tests: services on a temp data dir, a CLI runner, a clock."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dsl.model import RouterConfig, StorageConfig, StoragePolicy
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.service import TokenService, build_store

SECRET = "tokens-test-secret"
REPO = Path(__file__).resolve().parents[2]


def config_for(data_dir: Path, policy: StoragePolicy = StoragePolicy.BOTH) -> RouterConfig:
    return RouterConfig(storage=StorageConfig(policy=policy, data_dir=str(data_dir)))


async def open_service(
    data_dir: Path,
    policy: StoragePolicy = StoragePolicy.BOTH,
    *,
    clock: FakeClock | None = None,
    **store_options: object,
) -> TokenService:
    if store_options:
        store = FileTokenStore(data_dir, policy, **store_options)  # type: ignore[arg-type]
    else:
        store = build_store(config_for(data_dir, policy), data_dir)
    await store.open()
    return TokenService(store, SECRET, clock=clock or FakeClock())


@dataclass
class FakeClock:
    now: float = 1_781_000_000.0

    def __call__(self) -> float:
        return self.now


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TOKEN_", "DATA_DIR"))}
    env.update({"TOKEN_SECRET": SECRET, "DATA_DIR": str(data_dir), "STORAGE_POLICY": "both", **extra})
    return env


def run_cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`link-assistant-router <args>` as a real process, on `data_dir`, from an empty cwd."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        env=env if env is not None else cli_env(data_dir),
        cwd=cwd or data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
