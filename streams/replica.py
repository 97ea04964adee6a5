"""Every worker's copy of the council's child records, and the match index over them.

Fed from all partitions of the compacted ``council.child-records.v1`` (the GlobalKTable
pattern: faust-streaming has no stream-table join). Upserts and tombstones are applied
in order; a record older than the one held is ignored, so a replayed or reordered update
cannot roll a record back.

Rebuilding from the topic validates every record (about 10,000 records/s); a worker
that stops cleanly leaves a snapshot with the offsets it had read, and the next start
loads it (about 40,000 records/s in a restarting worker) and reads only the topic's tail.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from schemas import ChildRecord
from streams.matching import Matcher, MatchModel
from streams.snapshot_files import read_snapshot, write_snapshot

log = logging.getLogger(__name__)


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


# A snapshot older than this may miss a deletion: Kafka drops a compacted topic's
# tombstones once they are delete.retention.ms old (24 h on council.child-records.v1).
SNAPSHOT_MAX_AGE_S = 12 * 3600
_SNAPSHOT_SOURCES = (
    "streams/matching.py",
    "streams/replica.py",
    "schemas/council.py",
    "schemas/envelope.py",
    "schemas/identifiers.py",
)


@dataclass(frozen=True)
class Snapshot:
    """The replica as it stood after reading ``topic`` up to ``offsets`` (next offset to
    read, per partition)."""

    topic: str
    offsets: dict[int, int]
    replica: Replica
    written_at: float  # Unix time

    def fits(self, firsts: dict[int, int], ends: dict[int, int]) -> bool:
        """Whether the topic still has these partitions and every recorded offset lies
        within what they hold (a recreated or truncated topic does not fit)."""
        return set(self.offsets) == set(firsts) == set(ends) and all(
            firsts[p] <= offset <= ends[p] for p, offset in self.offsets.items()
        )


def snapshot_fingerprint() -> str:
    """Changes whenever the code that builds the index does: an index from other code is
    not trusted."""
    root = Path(__file__).resolve().parents[1]
    phonetics = importlib.metadata.version("jellyfish")  # blocking keys are phonetic codes
    digest = hashlib.sha256(f"{sys.version} jellyfish {phonetics}".encode())
    for name in _SNAPSHOT_SOURCES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()


def save_snapshot(path: Path, snapshot: Snapshot) -> None:
    write_snapshot(path, (snapshot_fingerprint(), snapshot))


def load_snapshot(path: Path, topic: str, model: MatchModel, now: float) -> Snapshot | None:
    """The worker's own last snapshot of ``topic``, or None when there is none it can
    trust (other code, other topic, too old, unreadable). The file lives in the worker's
    private state directory, like faust's table state."""
    collecting = gc.isenabled()
    gc.disable()  # unpickling makes millions of objects: collector passes would triple it
    try:
        fingerprint, snapshot = read_snapshot(path)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a torn or foreign file: rebuild from the topic instead
        # The error's kind only: unpickling messages can quote the file's bytes.
        log.warning("ignoring an unreadable replica snapshot (%s)", type(exc).__name__)
        return None
    finally:
        if collecting:
            gc.enable()
    if (
        fingerprint != snapshot_fingerprint()
        or not isinstance(snapshot, Snapshot)
        or snapshot.topic != topic
        or now - snapshot.written_at > SNAPSHOT_MAX_AGE_S
    ):
        return None
    snapshot.replica.matcher.model = model  # parameters may have been re-estimated since
    return snapshot
