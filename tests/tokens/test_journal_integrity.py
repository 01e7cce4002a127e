"""The token journal never drops a record silently: damage refuses to start with `file:line`.

Only a torn *last* line (a writer killed mid-write) may be ignored. Any other line that does not
decode, fails its checksum, or changes a token nothing issued (the snapshot lost records) stops
the store opening; the damaged files are left exactly as found (never compacted away). A running
store that meets damage another process wrote stops writing instead of skipping it.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from dsl.model import StoragePolicy
from gateway.errors import GatewayError
from gateway.tokens import formats
from gateway.tokens.filestore import FileTokenStore
from gateway.tokens.state import StoreError

from .helpers import bearer, open_service, run_cli

KEEP = {"compact_on_open": False, "compact_on_close": False}


async def _journal_with_revoke(data: Path) -> bytes:
    """A data dir whose journal issues a key, a budgeted key, and revokes the first."""
    service = await open_service(data, **KEEP)  # type: ignore[arg-type]
    revoked = await service.issue(label="to revoke")
    budgeted = await service.issue(label="budgeted", max_requests=1)
    await service.revoke(revoked.record.id)
    await service.close()
    assert budgeted.record.max_requests == 1
    return (data / "tokens.journal").read_bytes()


def _files(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(data.iterdir()) if p.name != "tokens.lock"}


async def test_a_damaged_byte_on_a_revoke_line_refuses_to_start_and_is_never_compacted(
    tmp_path: Path,
) -> None:
    journal = await _journal_with_revoke(tmp_path)
    lines = journal.split(b"\n")
    assert b'"op":"revoke"' in lines[2]
    # The reviewer's case: one byte of the revoked id changed. Skipping it revived the key (200).
    damaged = lines[2].replace(b'"id":"', b'"id":"X', 1)[:-9] + lines[2][-9:]
    (tmp_path / "tokens.journal").write_bytes(b"\n".join([*lines[:2], damaged, *lines[3:]]))
    before = _files(tmp_path)
    with pytest.raises(StoreError, match=r"tokens\.journal:3: checksum mismatch"):
        await open_service(tmp_path)  # the server's store: compaction on open
    assert _files(tmp_path) == before  # nothing compacted away, nothing cut


async def test_a_changed_op_refuses_to_start_naming_file_and_line(tmp_path: Path) -> None:
    journal = await _journal_with_revoke(tmp_path)
    # A line without a checksum (as older journals wrote) whose op was changed: no longer a revoke.
    legacy = journal.split(b"\n")
    legacy[2] = legacy[2].rpartition(b"\t")[0].replace(b'"op":"revoke"', b'"op":"revokd"')
    (tmp_path / "tokens.journal").write_bytes(b"\n".join(legacy))
    with pytest.raises(StoreError, match=r"tokens\.journal:3: unknown op 'revokd'"):
        await open_service(tmp_path)


def test_a_corrupt_journal_stops_the_server_and_the_cli_with_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(_journal_with_revoke(data))
    journal = data / "tokens.journal"
    journal.write_bytes(journal.read_bytes().replace(b'"op":"put"', b'"op":"pot"', 1))
    for command in (("tokens", "list"), ("serve", "--host", "127.0.0.1", "--port", "0")):
        result = run_cli(data, *command)
        assert result.returncode == 1, result.stderr
        assert f"{journal}:1: checksum mismatch" in result.stderr
        assert "Traceback" not in result.stderr


async def test_every_single_bit_flip_is_refused_or_is_the_torn_last_line(tmp_path: Path) -> None:
    """The corruption campaign: each byte of a journal (issue, budget, revoke, usage, expire) with
    a bit flipped (a low bit, the case bit or the high bit; all three on newlines). Every damaged
    copy either refuses to open naming the damaged line, or (only a flip of the final newline)
    loses exactly its torn last line."""
    source = tmp_path / "source"
    service = await open_service(source, **KEEP)  # type: ignore[arg-type]
    first = await service.issue(label="a")
    second = await service.issue(label="b", max_requests=3)
    await service.authorize(bearer(second.token))
    await service.store.flush()  # type: ignore[attr-defined]
    await service.revoke(first.record.id)
    await service.expire(second.record.id)
    await service.close()
    journal = (source / "tokens.journal").read_bytes()
    line_starts = [0] + [i + 1 for i, byte in enumerate(journal) if byte == ord("\n")]
    header = formats.TEXT_HEADER.encode()
    cases = refused = torn = 0
    data = tmp_path / "data"
    data.mkdir()
    for position in range(len(journal)):
        # One flip per byte, cycling the bit, and all three on the newlines (line structure).
        flips = (0x01, 0x20, 0x80)
        masks = flips if journal[position] == ord("\n") else (flips[position % 3],)
        for mask in masks:
            damaged = bytearray(journal)
            damaged[position] ^= mask
            (data / "tokens.lino").write_bytes(header)
            (data / "tokens.journal").write_bytes(bytes(damaged))
            store = FileTokenStore(data, StoragePolicy.BOTH, **KEEP)  # type: ignore[arg-type]
            cases += 1
            try:
                await store.open()
            except StoreError as exc:
                line = sum(1 for start in line_starts if start <= position)
                assert re.search(rf"tokens\.journal:({line}|{line - 1}):", str(exc)), (position, exc)
                refused += 1
                continue
            records = {r.id: r for r in store.records()}
            await store.close()
            assert position == len(journal) - 1, f"flip {mask:#x} at byte {position} was accepted"
            torn += 1
            assert records[first.record.id].revoked  # only the last line (the expire) is lost
            assert records[second.record.id].used_requests == 1
    assert (cases, torn) == (len(journal) + 2 * len(line_starts[1:]), 3)
    assert refused == cases - torn
    print(f"corruption campaign: {cases} damaged journals, {refused} refused, {torn} torn tails")


@pytest.mark.parametrize("size", range(8))
async def test_a_tokens_bin_under_8_bytes_is_corruption_not_an_empty_store(tmp_path: Path, size: int) -> None:
    (tmp_path / "tokens.bin").write_bytes(formats.BIN_MAGIC[:size])
    with pytest.raises(StoreError, match=rf"tokens\.bin: {size} bytes, shorter than its 8-byte magic"):
        await open_service(tmp_path, StoragePolicy.BINARY)
    assert (tmp_path / "tokens.bin").read_bytes() == formats.BIN_MAGIC[:size]


async def test_an_empty_tokens_lino_is_corruption(tmp_path: Path) -> None:
    await _journal_with_revoke(tmp_path)
    (tmp_path / "tokens.lino").write_bytes(b"")
    with pytest.raises(StoreError, match=r"tokens\.lino is empty"):
        await open_service(tmp_path, StoragePolicy.TEXT)


async def test_a_snapshot_that_lost_records_the_journal_changes_is_corruption(tmp_path: Path) -> None:
    """The journal revokes and counts usage of a key the snapshot no longer holds: the snapshot
    (here a header-only tokens.lino, as after a botched restore) lost it; loading would revive it."""
    service = await open_service(tmp_path)
    issued = await service.issue(label="x", max_requests=2)
    await service.close()  # compacted: the key lives in the snapshot only
    service = await open_service(tmp_path, **KEEP)  # type: ignore[arg-type]
    await service.authorize(bearer(issued.token))
    await service.revoke(issued.record.id)
    await service.close()
    (tmp_path / "tokens.lino").write_text(formats.TEXT_HEADER)
    (tmp_path / "tokens.bin").write_bytes(formats.BIN_MAGIC)
    lost = rf"tokens\.journal:1: (usage|revoke) of token {issued.record.id}, which neither"
    with pytest.raises(StoreError, match=lost):
        await open_service(tmp_path)


async def test_damage_written_while_running_stops_writes_and_is_kept(tmp_path: Path) -> None:
    service = await open_service(tmp_path, poll_interval=0.02)
    issued = await service.issue(label="live")
    journal = tmp_path / "tokens.journal"
    with journal.open("ab") as handle:  # another process's line, damaged
        handle.write(b'{"op":"revoke","id":"' + issued.record.id.encode() + b'"}\tdeadbeef\n')
    with pytest.raises(GatewayError) as info:
        await service.revoke(issued.record.id)
    assert info.value.status == 500 and "tokens.journal:2: checksum mismatch" in info.value.message
    with pytest.raises(GatewayError):  # still refused: the store is quarantined, not skipping the line
        await service.issue(label="later")
    before = _files(tmp_path)
    await service.close()  # no final compaction over the damage
    assert _files(tmp_path) == before
