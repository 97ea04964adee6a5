"""Table writes go out with the batch that made them, to the partition their key hashes
to; a clean stop leaves a snapshot that the next start trusts only when it can."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import faust
import pytest
from faust.types import TP

from streams.worker import state
from streams.worker.outbox import Outbox, partition_of
from streams.worker.snapshots import SNAPSHOT_MAX_AGE_S
from streams.worker.state import BatchedTable, SnapshotStore, writing_to

KEY = b"MPS:CAD-1"


def table(datadir: Path, app_id: str = "state-test") -> faust.Table[bytes, bytes | None]:
    app = faust.App(app_id, Table=BatchedTable, autodiscover=False, datadir=str(datadir))
    return app.Table("pending", default=None, key_type=bytes, value_type=bytes)


def store_of(held: faust.Table[bytes, bytes | None]) -> SnapshotStore:
    store = held.data
    assert isinstance(store, SnapshotStore)
    return store


def deliver_all(out: Outbox, first_offset: int = 0) -> None:
    for offset, record in enumerate(out.messages(), start=first_offset):
        if record.on_delivered is not None:
            record.on_delivered(offset)


def test_writes_and_deletes_join_the_current_outbox_in_order(tmp_path: Path) -> None:
    pending = table(tmp_path)
    with writing_to(Outbox(partitions=4)) as out:
        pending[KEY] = b"first"
        pending[KEY] = b"second"
        del pending[KEY]
    records = list(out.messages())
    assert [(r.key, r.value) for r in records] == [
        (KEY, b"first"),
        (KEY, b"second"),
        (KEY, None),  # a tombstone
    ]
    assert {r.topic for r in records} == {"state-test-pending-changelog"}
    assert {r.partition for r in records} == {partition_of(KEY, 4)}
    assert pending.get(KEY) is None
    assert store_of(pending).undelivered == 3
    deliver_all(out, first_offset=40)
    store = store_of(pending)
    assert store.undelivered == 0
    assert store.persisted_offset(TP("state-test-pending-changelog", partition_of(KEY, 4))) == 42


def test_a_write_outside_a_batch_fails_loudly(tmp_path: Path) -> None:
    pending = table(tmp_path)
    with pytest.raises(RuntimeError, match="outside an agent's batch"):
        pending[KEY] = b"value"


def _stopped_with(tmp_path: Path, deliver: bool) -> None:
    pending = table(tmp_path)
    with writing_to(Outbox(partitions=4)) as out:
        pending[KEY] = b"waiting"
        pending[b"MPS:CAD-2"] = b"also waiting"
    if deliver:
        deliver_all(out, first_offset=7)
    asyncio.run(store_of(pending).on_stop())


def test_a_clean_stop_leaves_a_snapshot_the_next_start_resumes_from(tmp_path: Path) -> None:
    _stopped_with(tmp_path, deliver=True)
    again = store_of(table(tmp_path))
    assert dict(again.data) == {KEY: b"waiting", b"MPS:CAD-2": b"also waiting"}
    changelog = "state-test-pending-changelog"
    expected: dict[int, int] = {}
    for offset, key in enumerate((KEY, b"MPS:CAD-2"), start=7):  # as delivered
        expected[partition_of(key, 4)] = offset
    assert {tp.partition: o for tp, o in again.offsets.items() if tp.topic == changelog} == expected

    # Recovery keeps only what this worker owns now, keys and offsets together.
    mine = partition_of(KEY, 4)
    asyncio.run(again.on_recovery_completed({TP(changelog, mine)}, set()))
    assert set(again.data) == {k for k in (KEY, b"MPS:CAD-2") if partition_of(k, 4) == mine}
    assert {tp.partition for tp in again.offsets} == {mine}


def test_no_snapshot_while_writes_are_in_flight(tmp_path: Path) -> None:
    _stopped_with(tmp_path, deliver=False)
    assert not list((tmp_path / "tables").glob("*.snapshot"))
    assert dict(store_of(table(tmp_path)).data) == {}


@pytest.mark.parametrize("why", ["other app", "torn"])
def test_a_snapshot_it_cannot_trust_is_ignored(tmp_path: Path, why: str) -> None:
    _stopped_with(tmp_path, deliver=True)
    (path,) = (tmp_path / "tables").glob("*.snapshot")
    app_id = "state-test"
    if why == "other app":
        app_id = "other"  # its changelog topic is another's
        path.rename(path.with_name("other-pending.snapshot"))
    else:
        path.write_bytes(path.read_bytes()[:50])
    assert dict(store_of(table(tmp_path, app_id)).data) == {}


def test_a_snapshot_older_than_the_tombstone_window_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stopped_with(tmp_path, deliver=True)
    later = time.time() + SNAPSHOT_MAX_AGE_S + 60
    monkeypatch.setattr(state.time, "time", lambda: later)
    assert dict(store_of(table(tmp_path)).data) == {}
