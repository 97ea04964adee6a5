"""Table writes go out with the batch that made them, to the partition their key hashes to."""

from __future__ import annotations

import faust
import pytest

from streams.outbox import Outbox, partition_of
from streams.state import BatchedTable, writing_to


def table() -> faust.Table[bytes, bytes | None]:
    app = faust.App("state-test", Table=BatchedTable, autodiscover=False)
    return app.Table("pending", default=None, key_type=bytes, value_type=bytes)


def test_writes_and_deletes_join_the_current_outbox_in_order() -> None:
    pending = table()
    with writing_to(Outbox(partitions=4)) as out:
        pending[b"MPS:CAD-1"] = b"first"
        pending[b"MPS:CAD-1"] = b"second"
        del pending[b"MPS:CAD-1"]
    records = list(out.messages())
    assert [(r.key, r.value) for r in records] == [
        (b"MPS:CAD-1", b"first"),
        (b"MPS:CAD-1", b"second"),
        (b"MPS:CAD-1", None),  # a tombstone
    ]
    assert {r.topic for r in records} == {"state-test-pending-changelog"}
    assert {r.partition for r in records} == {partition_of(b"MPS:CAD-1", 4)}
    assert pending.get(b"MPS:CAD-1") is None


def test_a_write_outside_a_batch_fails_loudly() -> None:
    pending = table()
    with pytest.raises(RuntimeError, match="outside an agent's batch"):
        pending[b"MPS:CAD-1"] = b"value"
