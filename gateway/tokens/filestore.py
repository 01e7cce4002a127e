"""File-backed token store: seed snapshot files + an append-only journal, shared by processes.

Layout in DATA_DIR: `tokens.lino` and/or `tokens.bin` (the seed's formats, per storage policy)
hold a snapshot; `tokens.journal` holds JSON lines written since that snapshot; `tokens.lock` is
the `fcntl.flock` every writer (server, CLI) holds while it catches up and appends.

Durability (also in the README):
* issue, revoke and expire are appended and fsynced before the call returns;
* usage counters are group-committed: one fsync per batch every `commit_interval` (default 50 ms),
  so a crash (`kill -9`, power loss) loses at most the usage of the last ~50 ms plus one fsync;
* a torn final journal line (a writer killed mid-write) is ignored on load and cut off by the
  next writer, under the lock; any other line that does not decode, or that changes a token the
  snapshot and the earlier lines do not hold (a lost snapshot), is corruption: opening fails with
  `file:line` and what is wrong, and a running store that meets it stops writing (quarantine)
  rather than skip it, so compaction never makes such a loss permanent;
* compaction (at open for the server, at close, and when the journal passes `compact_bytes`)
  writes the snapshot files atomically (tmp + fsync + rename + directory fsync) and then swaps
  in an empty journal the same way. Journal entries hold absolute values, so a crash between the
  two steps only replays entries the snapshot already has.

Other processes' changes (e.g. `tokens revoke` from the CLI while the server runs) are seen by
polling the journal's inode and size every `poll_interval` (200 ms) and applying new lines;
a replaced journal (someone compacted) triggers a full reload. All file I/O runs on one worker
thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dsl.model import StoragePolicy
from gateway.tokens import formats, journal
from gateway.tokens.records import TokenRecord
from gateway.tokens.state import StoreError, TokenState, with_delta

log = logging.getLogger(__name__)
Queued = tuple[journal.Entry, "asyncio.Future[None]"]
TEXT_FILE, BINARY_FILE, JOURNAL_FILE, LOCK_FILE = "tokens.lino", "tokens.bin", "tokens.journal", "tokens.lock"


class FileTokenStore(TokenState):
    persistent = True

    def __init__(
        self,
        data_dir: Path,
        policy: StoragePolicy,
        *,
        commit_interval: float = 0.05,
        poll_interval: float = 0.2,
        compact_bytes: int = 4 << 20,
        compact_on_open: bool = True,
        compact_on_close: bool = True,
    ) -> None:
        super().__init__()
        if policy is StoragePolicy.MEMORY:
            raise ValueError("the memory policy has no files; use MemoryTokenStore")
        self.data_dir, self.policy = data_dir, policy
        self.commit_interval, self.poll_interval = commit_interval, poll_interval
        self.compact_bytes = compact_bytes
        self.compact_on_open, self.compact_on_close = compact_on_open, compact_on_close
        self._queue: list[Queued] = []
        self._journal_fd = -1
        self._lock_fd = -1
        self._journal_ino = -1
        self._offset = 0
        self._lines = 0  # complete journal lines read, for `file:line` in corruption errors
        self._broken: str | None = None  # why the store stopped writing (corruption met at run time)
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._urgent = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle (event loop)

    async def open(self) -> None:
        """Load on the worker thread, then start the background sync task."""
        self._prepare()
        try:
            await self._io(self._open_sync)
        except BaseException:
            self._abandon()
            raise
        self._task = asyncio.create_task(self._background(), name="token-store-sync")

    def start(self) -> None:
        """Like `open`, but loads synchronously: for wiring code that cannot await (startup only,
        before anything else uses the store). Needs a running event loop for the sync task."""
        self._prepare()
        try:
            self._open_sync()
        except BaseException:
            self._abandon()
            raise
        self._task = asyncio.create_task(self._background(), name="token-store-sync")

    def _prepare(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="token-store")

    def _abandon(self) -> None:
        self._close_files()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def close(self) -> None:
        if self._task is not None:
            # Ask the loop to stop rather than cancel it: wait_for may swallow a cancellation.
            self._closing = True
            assert self._wake is not None
            self._wake.set()
            self._urgent.set()  # also ends a usage batching wait
            await self._task
            self._task = None
        if self._executor is None:
            return
        try:
            await self._io(self._sync, True, self.compact_on_close)
        except StoreError as exc:  # quarantined: nothing more may be written; say so and close
            log.error("token store closed without its final write: %s", exc)
        finally:
            await self._io(self._close_files)
            self._executor.shutdown(wait=True)
            self._executor = None

    async def flush(self) -> None:
        """Write and fsync everything pending now (tests, shutdown, CLI)."""
        await self._io(self._sync, True, False)

    async def refresh(self, token_id: str | None = None) -> None:
        """Apply what other processes (the CLI) appended since the last poll, now: admin reads and
        changes call this so a key the CLI just issued is listed and revocable at once."""
        await self._io(self._sync, False, False)

    async def _io(self, func: object, *args: object) -> None:
        assert self._loop is not None and self._executor is not None, "store not open"
        await self._loop.run_in_executor(self._executor, func, *args)  # type: ignore[arg-type]

    async def _background(self) -> None:
        assert self._wake is not None
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            if self._closing:
                return
            if self._wake.is_set() and not self._urgent.is_set():
                # Let more usage join this batch, unless an admin change wants its fsync now.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), self.commit_interval)
            self._wake.clear()
            self._urgent.clear()
            try:
                await self._io(self._sync, False, False)
            except Exception:  # keep serving; futures of this batch already carry the error
                log.exception("token store sync failed")
                await asyncio.sleep(self.poll_interval)

    # ------------------------------------------------------------ mutations (event loop)

    def _usage_changed(self) -> None:
        if self._wake is not None and not self._wake.is_set():
            self._wake.set()

    async def _durable(self, entry: journal.Entry) -> TokenRecord | None:
        assert self._loop is not None and self._wake is not None, "store not open"
        if self._broken is not None:
            raise StoreError(self._broken)
        try:  # encode now: an entry that cannot be written fails its own caller, never the batch
            journal.encode(entry)
        except journal.JournalError as exc:
            raise StoreError(f"cannot store this change: {exc}") from None
        future: asyncio.Future[None] = self._loop.create_future()
        with self._lock:
            record = journal.apply(entry, self._records.get(journal.entry_id(entry)))
            if record is None:
                return None
            self._records[record.id] = record
            self._queue.append((entry, future))
        self._urgent.set()
        self._wake.set()
        await future
        return record

    async def put(self, record: TokenRecord) -> None:
        await self._durable(journal.Put(record))

    async def revoke(self, token_id: str) -> TokenRecord | None:
        return await self._durable(journal.Revoke(token_id))

    async def expire(self, token_id: str, expires_at: int) -> TokenRecord | None:
        return await self._durable(journal.Expire(token_id, expires_at))

    # ------------------------------------------------------------ file I/O (worker thread only)

    def _path(self, name: str) -> Path:
        return self.data_dir / name

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _open_sync(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self._path(LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open token store in {self.data_dir}: {exc.strerror}") from exc
        with self._flock():
            self._reload_locked()
            if self.compact_on_open:
                self._compact_locked()

    def _close_files(self) -> None:
        for fd in (self._journal_fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._journal_fd = self._lock_fd = -1

    def _load_snapshot(self) -> dict[str, TokenRecord]:
        records: dict[str, TokenRecord] = {}
        try:
            if self.policy in (StoragePolicy.BINARY, StoragePolicy.BOTH) and self._path(BINARY_FILE).exists():
                records.update((r.id, r) for r in formats.decode_binary(self._path(BINARY_FILE).read_bytes()))
            if self.policy in (StoragePolicy.TEXT, StoragePolicy.BOTH) and self._path(TEXT_FILE).exists():
                text = self._path(TEXT_FILE).read_text(encoding="utf-8")
                if not text:  # every writer (the seed too) writes the header: an empty file lost data
                    raise formats.FormatError("tokens.lino is empty (no header line): truncated")
                records.update((r.id, r) for r in formats.decode_text(text))  # text wins on clashes
        except formats.FormatError as exc:
            raise StoreError(f"token store in {self.data_dir} is corrupt: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"cannot read token store in {self.data_dir}: {exc}") from exc
        return records

    def _reload_locked(self) -> None:
        """Snapshot + whole journal, then this process's unwritten changes on top."""
        records = self._load_snapshot()
        if self._journal_fd >= 0:
            os.close(self._journal_fd)
        self._journal_fd = os.open(self._path(JOURNAL_FILE), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._journal_ino = os.fstat(self._journal_fd).st_ino
        self._offset = self._lines = 0
        entries, problem = self._read_new_locked()
        for number, entry in entries:
            self._apply_into(records, number, entry, None)
        if problem is not None:
            raise StoreError(problem)
        with self._lock:
            for entry, _ in self._queue:
                _apply_into(records, entry, None)
            for token_id, delta in self._pending.items():
                if token_id in records:
                    records[token_id] = with_delta(records[token_id], delta)
            self._records = records

    def _read_new_locked(self) -> tuple[list[tuple[int, journal.Entry]], str | None]:
        """New complete lines as (line number, entry), up to the first bad one, and what is wrong
        with that one (the offset stays before it, so it is met again and never skipped)."""
        size = os.fstat(self._journal_fd).st_size
        if size <= self._offset:
            return [], None
        data = os.pread(self._journal_fd, size - self._offset, self._offset)
        lines, end = journal.split_lines(data)
        if end < len(data):  # a writer died mid-line; we hold the lock, so it is not still writing
            os.ftruncate(self._journal_fd, self._offset + end)
        entries: list[tuple[int, journal.Entry]] = []
        for line in lines:
            number = self._lines + 1
            try:
                if not line.strip():
                    raise journal.JournalError("blank line")
                entries.append((number, journal.decode(line)))
            except journal.JournalError as exc:
                return entries, f"{self._path(JOURNAL_FILE)}:{number}: {exc}"
            self._offset += len(line) + 1
            self._lines = number
        return entries, None

    def _apply_into(
        self,
        records: dict[str, TokenRecord],
        number: int,
        entry: journal.Entry,
        pending: dict[str, list[int]] | None,
    ) -> None:
        current = records.get(journal.entry_id(entry))
        problem = journal.orphan(entry, current)
        if problem is not None:
            raise StoreError(f"{self._path(JOURNAL_FILE)}:{number}: {problem}")
        _apply_into(records, entry, pending)

    def _catch_up_locked(self) -> None:
        try:
            stat = os.stat(self._path(JOURNAL_FILE))
        except FileNotFoundError:
            stat = None
        if stat is None or stat.st_ino != self._journal_ino or stat.st_size < self._offset:
            self._reload_locked()
            return
        entries, problem = self._read_new_locked()
        if entries:
            with self._lock:
                for number, entry in entries:
                    self._apply_into(self._records, number, entry, self._pending)
        if problem is not None:
            raise StoreError(problem)

    def _changed_on_disk(self) -> bool:
        try:
            stat = os.stat(self._path(JOURNAL_FILE))
        except FileNotFoundError:
            return True
        return stat.st_ino != self._journal_ino or stat.st_size != self._offset

    def _sync(self, force: bool, compact: bool) -> None:
        with self._lock:
            idle = not self._queue and not self._pending
        if idle and not force and not compact and not self._changed_on_disk():
            return
        with self._flock():
            try:
                if self._broken is not None:
                    raise StoreError(self._broken)
                self._catch_up_locked()
            except StoreError as exc:
                self._quarantine(str(exc))
                raise
            with self._lock:
                batch, self._queue = self._queue, []
                pending, self._pending = self._pending, {}
                lines = [journal.encode(entry) for entry, _ in batch]
                lines += [
                    journal.encode(journal.usage_of(self._records[token_id]))
                    for token_id in pending
                    if token_id in self._records
                ]
            try:
                if lines:
                    _write_all(self._journal_fd, b"".join(lines))
                    os.fsync(self._journal_fd)
                    self._offset = os.fstat(self._journal_fd).st_size
                    self._lines += len(lines)
            except OSError as exc:
                with self._lock:
                    for token_id, delta in pending.items():
                        self._add_pending(token_id, *delta)
                self._settle(batch, StoreError(f"cannot write {self._path(JOURNAL_FILE)}: {exc.strerror}"))
                # Undo the failed changes in memory too (their callers were told they failed), so
                # what is enforced is what is on disk: reload it, this process's usage on top.
                with contextlib.suppress(OSError, StoreError):
                    self._reload_locked()
                raise
            self._settle(batch, None)
            if compact or self._offset > self.compact_bytes:
                self._compact_locked()

    def _quarantine(self, problem: str) -> None:
        """Corruption met while running: stop writing (so nothing compacts it away), fail what is
        queued, keep serving from memory, and say so loudly once."""
        if self._broken is None:
            log.error("token store quarantined, no further writes: %s", problem)
        self._broken = problem
        with self._lock:
            batch, self._queue = self._queue, []
        self._settle(batch, StoreError(problem))

    def _settle(self, batch: list[Queued], error: Exception | None) -> None:
        assert self._loop is not None
        for _, future in batch:
            self._loop.call_soon_threadsafe(_resolve, future, error)

    def _compact_locked(self) -> None:
        with self._lock:
            records = list(self._records.values())
        if self.policy in (StoragePolicy.TEXT, StoragePolicy.BOTH):
            _atomic_write(self._path(TEXT_FILE), formats.encode_text(records).encode("utf-8"))
        if self.policy in (StoragePolicy.BINARY, StoragePolicy.BOTH):
            _atomic_write(self._path(BINARY_FILE), formats.encode_binary(records))
        _atomic_write(self._path(JOURNAL_FILE), b"")
        os.close(self._journal_fd)
        self._journal_fd = os.open(self._path(JOURNAL_FILE), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._journal_ino = os.fstat(self._journal_fd).st_ino
        self._offset = self._lines = 0


def _apply_into(
    records: dict[str, TokenRecord], entry: journal.Entry, pending: dict[str, list[int]] | None
) -> None:
    record = journal.apply(entry, records.get(journal.entry_id(entry)))
    if record is None:
        return
    if pending is not None and isinstance(entry, journal.Put | journal.Usage):
        record = with_delta(record, pending.get(record.id))
    records[record.id] = record


def _resolve(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
