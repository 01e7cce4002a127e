"""`<DATA_DIR>/providers.lenv`: the seed's provider store file, read and written atomically.

Format: two comment lines, then `PROVIDER: <compact JSON>` per provider, sorted by name. Every
read-modify-write holds an exclusive lock on `providers.lenv.lock` (the CLI and a running server
may share a data dir) and replaces the file with a 0600 temp file + rename, so a crash never
leaves half a store. `render_store`/`parse_store` are pure.
"""

from __future__ import annotations

import builtins
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from gateway.errors import GatewayError
from gateway.providers.crypto import ProviderKeyError, decrypt_key, encrypt_key
from gateway.providers.imports import STORE_PREFIX, parse_store_lines
from gateway.providers.records import ProviderInput, ProviderRecord

FILE_NAME = "providers.lenv"
HEADER = (
    "# Link.Assistant.Router provider store\n# Each PROVIDER value is JSON; inline API keys are encrypted.\n"
)

T = TypeVar("T")


def render_store(records: list[ProviderRecord]) -> str:
    lines = [HEADER]
    for record in sorted(records, key=lambda r: r.name):
        lines.append(STORE_PREFIX + json.dumps(record.to_json(), separators=(",", ":"), ensure_ascii=False))
        lines.append("\n")
    return "".join(lines)


def parse_store(text: str) -> list[ProviderRecord]:
    """Stored records; a plaintext `api_key` never belongs in the file and is not loaded as one."""
    return [entry.record for entry in parse_store_lines(text)]


class ProviderStore:
    def __init__(self, data_dir: Path, secret: str) -> None:
        self.path = data_dir / FILE_NAME
        self._secret = secret

    def records(self) -> list[ProviderRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            records = parse_store(text)
        except GatewayError as exc:
            # The operator's file is broken, not the client's request: a server error naming the file.
            raise GatewayError(
                500, "api_error", f"provider store {FILE_NAME} is damaged: {exc.message}"
            ) from exc
        return sorted(records, key=lambda r: r.name)

    def get(self, name: str) -> ProviderRecord | None:
        return next((r for r in self.records() if r.name == name), None)

    def upsert(self, entry: ProviderInput) -> ProviderRecord:
        return self.upsert_many([entry])[0]

    def upsert_many(self, entries: list[ProviderInput]) -> list[ProviderRecord]:
        records = [entry.to_record(self._secret) for entry in entries]

        def change(current: dict[str, ProviderRecord]) -> list[ProviderRecord]:
            for record in records:
                current[record.name] = record
            return records

        return self._modify(change)

    def reencrypt(self, old_secrets: tuple[str, ...]) -> list[str]:
        """Re-encrypt every inline key with this store's secret, reading each with whichever of
        this secret and `old_secrets` opens it; all or nothing (one unreadable key: nothing is
        written, and the error names its provider). Returns the providers re-encrypted."""

        def change(current: dict[str, ProviderRecord]) -> list[str]:
            done = []
            for name, record in sorted(current.items()):
                if not record.encrypted_api_key:
                    continue
                plain = _decrypt_any(name, record.encrypted_api_key, (self._secret, *old_secrets))
                current[name] = replace(record, encrypted_api_key=encrypt_key(plain, self._secret))
                done.append(name)
            return done

        return self._modify(change)

    def remove(self, name: str) -> bool:
        return self._modify(lambda current: current.pop(name, None) is not None)

    def list(self) -> builtins.list[ProviderRecord]:
        """Same as `records()` (the name the gRPC servicer uses)."""
        return self.records()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(FILE_NAME + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _modify(self, change: Callable[[dict[str, ProviderRecord]], T]) -> T:
        with self._locked():
            current = {r.name: r for r in self.records()}
            before = dict(current)
            result = change(current)
            if current != before:
                self._write(render_store(list(current.values())))
            return result

    def _write(self, text: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".providers.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _decrypt_any(name: str, stored: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        try:
            return decrypt_key(stored, secret)
        except ProviderKeyError:
            continue
    raise ProviderKeyError(
        f"provider {name}: its stored key opens with neither TOKEN_SECRET nor any TOKEN_SECRET_PREVIOUS"
    )


PROVIDERS = web.AppKey("providers", ProviderStore)
"""The app's provider store (made in its own cleanup_ctx)."""
