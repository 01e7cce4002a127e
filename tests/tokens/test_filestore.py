"""Storage policies, seed data dirs, the journal's write path, torn writes and compaction."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from dsl.model import StoragePolicy
from gateway.errors import GatewayError
from gateway.tokens import formats, jwt_codec
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.jwt_codec import Claims
from gateway.tokens.records import TokenRecord
from gateway.tokens.state import StoreError

from .helpers import SECRET, FakeClock, bearer, open_service

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("policy", "files"),
    [
        (StoragePolicy.TEXT, {"tokens.lino"}),
        (StoragePolicy.BINARY, {"tokens.bin"}),
        (StoragePolicy.BOTH, {"tokens.lino", "tokens.bin"}),
    ],
)
async def test_each_policy_writes_its_seed_files_and_survives_restart(
    tmp_path: Path, policy: StoragePolicy, files: set[str]
) -> None:
    service = await open_service(tmp_path, policy)
    issued = await service.issue(label="Ωmega ✓ 東京", max_requests=5, account="primary")
    await service.authorize(bearer(issued.token))
    await service.close()
    snapshots = {p.name for p in tmp_path.iterdir() if p.suffix in (".lino", ".bin")}
    assert snapshots == files
    reopened = await open_service(tmp_path, policy)
    record = reopened.get(issued.record.id)
    await reopened.close()
    assert record is not None
    assert (record.label, record.account, record.used_requests) == ("Ωmega ✓ 東京", "primary", 1)


async def test_memory_policy_writes_nothing(tmp_path: Path) -> None:
    service = await open_service(tmp_path, StoragePolicy.MEMORY)
    issued = await service.issue(label="x")
    await service.authorize(bearer(issued.token))
    await service.close()
    assert list(tmp_path.iterdir()) == []


async def test_a_seed_data_dir_loads_and_its_revocations_and_budgets_hold(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "seed_tokens.lino", tmp_path / "tokens.lino")
    shutil.copy(FIXTURES / "seed_tokens.bin", tmp_path / "tokens.bin")
    service = await open_service(tmp_path, clock=FakeClock(1_781_000_500.0))
    try:
        ids = {record.id for record in service.list()}
        assert len(ids) == 5  # 3 text + 2 binary-only records, merged

        def key(sub: str) -> dict[str, str]:
            return bearer(jwt_codec.encode(Claims(sub=sub, iat=1781000000, exp=1781086500), SECRET))

        alice = await service.authorize(key("0b7a1d2e-5c1f-4c3e-9a55-1f0e7d3c2b10"))
        assert alice.label == "alice"
        with pytest.raises(GatewayError) as revoked:
            await service.authorize(key("3f1c9e84-2d6b-4a8e-b0f7-6c5d4e3a2b19"))
        assert (revoked.value.status, revoked.value.message) == (403, "Token has been revoked")
        with pytest.raises(GatewayError) as spent:  # (max_requests 2) (used_requests 2)
            await service.authorize(key("9d2e4f60-7a8b-4c1d-8e9f-0a1b2c3d4e5f"))
        assert spent.value.status == 429
    finally:
        await service.close()
    # Compaction rewrote the files in the seed's formats with the non-ASCII label intact.
    text = (tmp_path / "tokens.lino").read_text(encoding="utf-8")
    assert '(label "Zoë — 東京 🚀")' in text and '(label "bob")' in text


async def test_both_policy_text_wins_over_binary_on_the_same_id(tmp_path: Path) -> None:
    (tmp_path / "tokens.lino").write_text(formats.encode_text([TokenRecord(id="same", label="from text")]))
    (tmp_path / "tokens.bin").write_bytes(
        formats.encode_binary(
            [TokenRecord(id="same", label="from binary", revoked=True), TokenRecord(id="only-bin", label="b")]
        )
    )
    service = await open_service(tmp_path)
    try:
        assert service.get("same") == TokenRecord(id="same", label="from text")
        assert service.get("only-bin") == TokenRecord(id="only-bin", label="b")
    finally:
        await service.close()


async def test_a_corrupt_snapshot_refuses_to_open_with_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "tokens.lino").write_text('# header\n(token a (label "x") (issued_at soon))\n')
    with pytest.raises(StoreError, match=r"corrupt: tokens\.lino line 2: field issued_at"):
        await open_service(tmp_path)


async def test_usage_is_group_committed_to_the_journal_not_rewriting_snapshots(tmp_path: Path) -> None:
    service = await open_service(tmp_path, commit_interval=0.05)
    try:
        issued = await service.issue(label="busy")
        snapshot = (tmp_path / "tokens.lino").stat()
        for _ in range(500):
            await service.authorize(bearer(issued.token))
        await asyncio.sleep(0.3)  # several commit intervals
        journal = (tmp_path / "tokens.journal").read_bytes().splitlines()
        assert (tmp_path / "tokens.lino").stat().st_mtime_ns == snapshot.st_mtime_ns
        assert (tmp_path / "tokens.lino").stat().st_ino == snapshot.st_ino
        usage_lines = [line for line in journal if b'"op":"usage"' in line]
        assert 1 <= len(usage_lines) <= 10  # 500 increments, a handful of batched absolute values
        assert b'"used_requests":500' in usage_lines[-1]
    finally:
        await service.close()


async def test_issue_and_revoke_are_in_the_journal_when_the_call_returns(tmp_path: Path) -> None:
    # A slow commit interval proves administrative changes do not wait for the usage batch.
    service = await open_service(tmp_path, commit_interval=30.0, poll_interval=30.0, compact_on_open=False)
    try:
        issued = await service.issue(label="durable")
        assert issued.record.id.encode() in (tmp_path / "tokens.journal").read_bytes()
        await service.revoke(issued.record.id)
        assert b'"op":"revoke"' in (tmp_path / "tokens.journal").read_bytes()
    finally:
        await service.close()


async def test_a_torn_final_journal_line_is_ignored_and_cut_by_the_next_writer(tmp_path: Path) -> None:
    service = await open_service(tmp_path)
    first = await service.issue(label="first")
    await service.close()
    journal = tmp_path / "tokens.journal"
    torn = b'{"op":"revoke","id":"' + first.record.id.encode()  # a writer killed mid-line
    journal.write_bytes(b'{"op":"put","record":{"id":"other","label":"o"}}\n' + torn)
    service = await open_service(tmp_path, compact_on_open=False)
    try:
        assert service.get(first.record.id) is not None and not service.get(first.record.id).revoked
        assert service.get("other") is not None
        second = await service.issue(label="second")
        lines = journal.read_bytes().split(b"\n")
        assert torn not in journal.read_bytes()
        assert lines[-1] == b"" and second.record.id.encode() in lines[-2]
    finally:
        await service.close()


async def test_compaction_at_threshold_folds_the_journal_into_the_snapshot(tmp_path: Path) -> None:
    service = await open_service(tmp_path, compact_bytes=2_000, commit_interval=0.01)
    try:
        tokens = [await service.issue(label=f"t{i}") for i in range(20)]
        await service.store.flush()  # type: ignore[attr-defined]
        assert (tmp_path / "tokens.journal").stat().st_size < 2_000
        in_snapshot = {r.id for r in formats.decode_text((tmp_path / "tokens.lino").read_text())}
        journal = (tmp_path / "tokens.journal").read_text()
        assert len(in_snapshot) >= 10  # ~180 bytes a put: compaction ran at least once
        assert all(t.record.id in in_snapshot or t.record.id in journal for t in tokens)
    finally:
        await service.close()
    reopened = await open_service(tmp_path)
    assert {t.record.id for t in tokens} <= {r.id for r in reopened.list()}
    await reopened.close()


async def test_a_crash_between_snapshot_and_journal_swap_replays_harmlessly(tmp_path: Path) -> None:
    # Journal entries carry absolute values: replaying them over a snapshot that has them is a no-op.
    service = await open_service(tmp_path, compact_on_open=False)
    issued = await service.issue(label="x", max_requests=10)
    for _ in range(3):
        await service.authorize(bearer(issued.token))
    await service.store.flush()  # type: ignore[attr-defined]
    journal_copy = (tmp_path / "tokens.journal").read_bytes()
    await service.close()  # compacts: snapshot has used_requests 3, journal emptied
    (tmp_path / "tokens.journal").write_bytes(journal_copy)  # as if the swap never happened
    reopened = await open_service(tmp_path)
    try:
        assert reopened.get(issued.record.id).used_requests == 3  # type: ignore[union-attr]
    finally:
        await reopened.close()


async def test_two_stores_on_one_data_dir_see_each_others_changes(tmp_path: Path) -> None:
    a = await open_service(tmp_path, poll_interval=0.05, commit_interval=0.01)
    b = await open_service(tmp_path, poll_interval=0.05, commit_interval=0.01, compact_on_open=False)
    try:
        issued = await a.issue(label="shared", max_requests=100)
        await _eventually(lambda: b.get(issued.record.id) is not None)
        for _ in range(7):
            await a.authorize(bearer(issued.token))
        for _ in range(5):
            await b.authorize(bearer(issued.token))
        await a.store.flush()  # type: ignore[attr-defined]
        await b.store.flush()  # type: ignore[attr-defined]
        await _eventually(lambda: a.get(issued.record.id).used_requests == 12)  # type: ignore[union-attr]
        await _eventually(lambda: b.get(issued.record.id).used_requests == 12)  # type: ignore[union-attr]
        await b.revoke(issued.record.id)
        await _eventually(lambda: a.get(issued.record.id).revoked)  # type: ignore[union-attr]
    finally:
        await b.close()
        await a.close()
    final = await open_service(tmp_path)
    record = final.get(issued.record.id)
    await final.close()
    assert record is not None and record.revoked and record.used_requests == 12


async def _eventually(check, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_memory_policy_is_not_a_file_store(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="memory"):
        FileTokenStore(tmp_path, StoragePolicy.MEMORY)


async def test_journal_files_are_private(tmp_path: Path) -> None:
    service = await open_service(tmp_path)
    await service.issue(label="x")
    await service.close()
    for name in ("tokens.lino", "tokens.bin", "tokens.journal", "tokens.lock"):
        assert os.stat(tmp_path / name).st_mode & 0o077 == 0, name
