"""Snapshots in a worker's state directory: the council records replica and the tables.

Why: a worker that stops cleanly leaves what it holds in memory, with the offsets it had
read, so the next start reads only what arrived since (loading the replica runs at about
40,000 records/s against some 10,000 records/s rebuilding from the topic). A snapshot
holds personal data at rest (council records, waiting incidents): it is readable by the
worker's own user only; a worker killed mid-write leaves the previous snapshot or none,
never half of one; workers may share a directory.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import logging
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.matching import MatchModel, Replica

log = logging.getLogger(__name__)

# A snapshot older than this may keep a deleted key: Kafka drops a compacted topic's
# tombstones once they are delete.retention.ms old (24 h on council.child-records.v1 and
# by default on a table's changelog). One limit for the replica and every table.
SNAPSHOT_MAX_AGE_S = 12 * 3600

_ROOT = Path(__file__).resolve().parents[2]
# The code that builds the replica and its index (identifiers are normalised as records
# are validated): a snapshot made by other code is not trusted.
_FINGERPRINTED = (
    "streams/matching",
    "schemas/council.py",
    "schemas/envelope.py",
    "schemas/identifiers.py",
)


def write_snapshot(path: Path, state: Any) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        pickle.dump(state, out, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)


def read_snapshot(path: Path) -> Any:
    """What ``write_snapshot`` wrote; FileNotFoundError when there is none. Only ever a
    file this worker's user wrote in its own state directory is unpickled."""
    with path.open("rb") as source:
        return pickle.load(source)


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


def _fingerprinted_files() -> list[Path]:
    files: list[Path] = []
    for name in _FINGERPRINTED:
        path = _ROOT / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def snapshot_fingerprint() -> str:
    """Changes whenever the code that builds the index does, wherever it moves."""
    phonetics = importlib.metadata.version("jellyfish")  # blocking keys are phonetic codes
    digest = hashlib.sha256(f"{sys.version} jellyfish {phonetics}".encode())
    for path in _fingerprinted_files():
        digest.update(str(path.relative_to(_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def save_replica(path: Path, snapshot: Snapshot) -> None:
    write_snapshot(path, (snapshot_fingerprint(), snapshot))


def load_replica(path: Path, topic: str, model: MatchModel, now: float) -> Snapshot | None:
    """The worker's own last snapshot of ``topic``, or None when there is none it can
    trust (other code, other topic, too old, unreadable)."""
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
