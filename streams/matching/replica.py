"""Every worker's copy of the council's child records, and the match index over them.

Fed from all partitions of the compacted ``council.child-records.v1`` (the GlobalKTable
pattern: faust-streaming has no stream-table join). Upserts and tombstones are applied
in order; a record older than the one held is ignored, so a replayed or reordered update
cannot roll a record back.

Pure: the worker feeds it (``streams.worker``) and keeps its snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import ChildRecord
from streams.matching.matcher import Matcher


@dataclass
class Replica:
    matcher: Matcher = field(default_factory=Matcher)
    records: dict[str, ChildRecord] = field(default_factory=dict)
    applied: int = 0

    def __len__(self) -> int:
        return len(self.records)

    def get(self, record_id: str) -> ChildRecord | None:
        return self.records.get(record_id)

    def upsert(self, record: ChildRecord) -> bool:
        """Apply an update; False when it is older than the record already held."""
        held = self.records.get(record.key)
        if held is not None and record.updated_at < held.updated_at:
            return False
        self.records[record.key] = record
        self.matcher.add(record)
        self.applied += 1
        return True

    def delete(self, record_id: str) -> bool:
        self.applied += 1
        self.matcher.remove(record_id)
        return self.records.pop(record_id, None) is not None

    def restore(self, other: Replica) -> None:
        """Take over ``other``'s records and index (a snapshot), in place."""
        self.records, self.matcher = other.records, other.matcher
