"""frontdoor's faust tables: changelog writes travel in the batch's outbox, and a clean
stop leaves a snapshot so the next start replays only the changelog's tail.

Why: a faust table sends each write through faust's own per-message send path, which at
some four writes an incident cost more than the incident's whole match; and faust's
in-memory store replays the whole changelog at every start (a few thousand records/s
here: a minute after a busy day). Writes are queued in the outbox of the batch being handled
and delivered, with everything else the batch produced, before the batch's offsets are
acknowledged; the store remembers the last changelog offset it holds per partition, as
faust's RocksDB store does, and faust's own recovery reads from there. Keys must hash to
the partition their changelog record belongs in, as in every frontdoor table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any

import faust
from faust.stores import memory
from faust.types import TP

from streams.worker.outbox import Outbox, partition_of
from streams.worker.snapshots import SNAPSHOT_MAX_AGE_S, read_snapshot, write_snapshot

log = logging.getLogger(__name__)

_SNAPSHOT_FORMAT = 1

_CURRENT: ContextVar[Outbox | None] = ContextVar("frontdoor_outbox", default=None)


@contextmanager
def writing_to(out: Outbox) -> Iterator[Outbox]:
    """Table writes made inside this block go out with ``out``."""
    token = _CURRENT.set(out)
    try:
        yield out
    finally:
        _CURRENT.reset(token)


def _outbox() -> Outbox:
    out = _CURRENT.get()
    if out is None:
        raise RuntimeError("a frontdoor table was written outside an agent's batch")
    return out


class SnapshotStore(memory.Store[bytes, bytes | None]):
    """faust's in-memory store plus the changelog offset it holds per partition, kept in
    a snapshot file across clean restarts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.offsets: dict[TP, int] = {}
        self.undelivered = 0  # writes whose changelog record is not yet acknowledged
        super().__init__(*args, **kwargs)
        name = f"{self.app.conf.id}-{self.table_name}.snapshot"
        self.path = Path(self.app.conf.datadir) / "tables" / name
        self._load()

    # -- what faust's recovery asks and tells
    def persisted_offset(self, tp: TP) -> int | None:
        return self.offsets.get(tp)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        if offset > self.offsets.get(tp, -1):
            self.offsets[tp] = offset

    def apply_changelog_batch(
        self,
        batch: Iterable[Any],
        to_key: Callable[[Any], Any],
        to_value: Callable[[Any], Any],
    ) -> None:
        events = list(batch)
        super().apply_changelog_batch(events, to_key, to_value)
        for event in events:
            self.set_persisted_offset(event.message.tp, event.message.offset)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        """Forget partitions this worker no longer owns: keys and offsets together, so a
        partition that comes back is read again from its changelog."""
        await super().on_recovery_completed(active_tps, standby_tps)
        owned = {tp.partition for tp in active_tps}
        for tp in [tp for tp in self.offsets if tp.partition not in owned]:
            del self.offsets[tp]

    # -- live writes (BatchedTable)
    def written(self, key: bytes, partition: int) -> Callable[[int], None]:
        """Note a write; the returned callback records its changelog offset on delivery."""
        self._key_partition[key] = partition
        self.undelivered += 1
        return partial(self._delivered, TP(self.table.changelog_topic.get_topic_name(), partition))

    def _delivered(self, tp: TP, offset: int) -> None:
        self.undelivered -= 1
        self.set_persisted_offset(tp, offset)

    # -- the snapshot
    async def on_stop(self) -> None:
        await super().on_stop()
        if self.undelivered:
            log.warning(
                "table %s: no snapshot, %d writes were still in flight",
                self.table_name,
                self.undelivered,
            )
            return
        began = time.monotonic()
        state = {
            "format": _SNAPSHOT_FORMAT,
            "topic": self.table.changelog_topic.get_topic_name(),
            "written_at": time.time(),
            "data": dict(self.data),
            "partitions": dict(self._key_partition),
            "offsets": {tp.partition: offset for tp, offset in self.offsets.items()},
        }
        write_snapshot(self.path, state)
        log.info(
            "table %s: snapshot of %d keys written in %.1f s",
            self.table_name,
            len(self.data),
            time.monotonic() - began,
        )

    def _load(self) -> None:
        try:
            state = read_snapshot(self.path)
        except FileNotFoundError:
            return
        except Exception:  # a torn or foreign file: replay the changelog instead
            log.warning("table %s: ignoring an unreadable snapshot", self.table_name)
            return
        topic = self.table.changelog_topic.get_topic_name()
        if (
            not isinstance(state, dict)
            or state.get("format") != _SNAPSHOT_FORMAT
            or state.get("topic") != topic
            or time.time() - state.get("written_at", 0) > SNAPSHOT_MAX_AGE_S
        ):
            return
        self.data.update(state["data"])
        self._key_partition.update(state["partitions"])
        self.offsets = {TP(topic, p): offset for p, offset in state["offsets"].items()}
        log.info("table %s: %d keys from this worker's snapshot", self.table_name, len(self.data))


class BatchedTable(faust.Table[bytes, bytes | None]):
    """A bytes-keyed faust Table whose changelog records join the current outbox."""

    def _new_store_by_url(self, url: Any) -> SnapshotStore:
        return SnapshotStore(
            url,
            self.app,
            self,
            table_name=self.name,
            key_type=self.key_type,
            key_serializer=self.key_serializer,
            value_serializer=self.value_serializer,
            value_type=self.value_type,
            loop=self.loop,
            options=self.options,
        )

    def _changelog(self, key: bytes, value: bytes | None) -> None:
        out = _outbox()
        partition = partition_of(key, out.partitions)
        store: SnapshotStore = self.data  # type: ignore[assignment]  # ours, see above
        delivered = store.written(key, partition)
        out.send_to(self.changelog_topic_name, key, value, partition, delivered)

    def on_key_set(self, key: Any, value: Any) -> None:
        self._changelog(key, value)
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        self._changelog(key, None)
        self._sensor_on_del(self, key)
