"""``council.child-records.v1`` -> every worker's replica of the council's records.

Every worker reads every partition (the GlobalKTable pattern: faust-streaming has no
stream-table join), with its own consumer outside the group, from its last trusted
snapshot if it has one, else from the start. ``/health`` is not ready, and the
matching agents wait, until the replica has caught up with the topic's end as it stood
at start. A record that arrives or changes after that asks for waiting incidents it
could affect to be matched again.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import ChildRecord, ChildRecordDeleted, DeadLetter
from streams import topics
from streams.incidents import validate
from streams.matching import Replica
from streams.topics import admin
from streams.worker import metrics
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox
from streams.worker.snapshots import Snapshot, load_replica, save_replica

log = logging.getLogger(__name__)

RequestRematch = Callable[[Outbox, list[str] | None], None]


class CouncilRecords:
    def __init__(self, ctx: WorkerContext, request_rematch: RequestRematch) -> None:
        self.ctx = ctx
        self.request_rematch = request_rematch

    def records_arrived(self, out: Outbox, messages: list[Incoming]) -> None:
        """Apply upserts and tombstones in order; once caught up, ask for re-matches
        (once per batch, not once per record)."""
        ctx = self.ctx
        changed: list[str] = []
        for message in messages:
            now = ctx.clock()  # once per record
            try:
                applied = apply_record(ctx.replica, message, now)
            except Exception as error:  # one record must not stop the replica
                ctx.processing_failed(out, "council_records", message, error, now)
                continue
            if isinstance(applied, DeadLetter):
                ctx.dead_letter(out, topics.CHILD_RECORDS, message.key, applied)
            elif applied is not None:
                changed.append(applied)
        if changed and ctx.replica_caught_up:
            self.request_rematch(out, changed)
        metrics.REPLICA_RECORDS.set(len(ctx.replica))

    async def follow(self) -> None:
        """Read every partition of the council records topic for ever."""
        ctx = self.ctx
        ready = ctx.replica_ready
        name = ctx.name(topics.CHILD_RECORDS)
        snapshot_path = ctx.settings.state_dir / "replica.snapshot"
        consumer = AIOKafkaConsumer(
            **ctx.settings.aiokafka_options(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=2000,
        )
        await consumer.start()
        read_to: dict[int, int] = {}  # next offset to read per partition: what a snapshot records
        try:
            started = time.monotonic()
            partitions = [
                TopicPartition(name, p) for p in await admin.partitions_of(consumer, name)
            ]
            consumer.assign(partitions)
            firsts = await consumer.beginning_offsets(partitions)
            targets = await consumer.end_offsets(partitions)
            snapshot = load_replica(snapshot_path, name, ctx.replica.matcher.model, time.time())
            if snapshot is not None and snapshot.fits(
                {tp.partition: firsts[tp] for tp in partitions},
                {tp.partition: targets[tp] for tp in partitions},
            ):
                ctx.replica.restore(snapshot.replica)
                read_to = dict(snapshot.offsets)
            if read_to:
                for tp in partitions:
                    consumer.seek(tp, read_to[tp.partition])
            else:
                await consumer.seek_to_beginning(*partitions)
                read_to = {tp.partition: firsts[tp] for tp in partitions}
            restored = len(ctx.replica)
            # Catching up makes hundreds of thousands of long-lived objects; collector
            # passes over them cost about a third of the rebuild. Collect again once caught up.
            gc.disable()
            while not ctx.runtime.stopping():
                # Caught up is checked before each read, so an empty topic (or a snapshot
                # already at the end) is ready at once, not after a poll's timeout.
                if not ready.is_set() and all(
                    await asyncio.gather(
                        *(_reached(consumer, tp, targets[tp]) for tp in partitions)
                    )
                ):
                    ready.set()
                    metrics.LAST_PROCESSED.set(time.time())  # "stalled" counts from readiness
                    # The replica is long-lived: keep the collector from walking it again and
                    # again (its pauses showed as the matcher's p99 latency).
                    gc.freeze()
                    gc.enable()
                    log.info(
                        "council records replica caught up: %d records in %.1f s "
                        "(%d from this worker's snapshot)",
                        len(ctx.replica),
                        time.monotonic() - started,
                        restored,
                    )
                batch = await consumer.getmany(timeout_ms=500)
                received = [m for messages in batch.values() for m in messages]
                out = ctx.outbox()
                self.records_arrived(out, [_incoming(m) for m in received])
                await ctx.flush(out)
                for message in received:
                    read_to[message.partition] = message.offset + 1
        finally:
            gc.enable()
            await consumer.stop()
            if ready.is_set():  # only a caught-up replica is worth keeping
                began = time.monotonic()
                save_replica(snapshot_path, Snapshot(name, read_to, ctx.replica, time.time()))
                log.info(
                    "replica snapshot of %d records written in %.1f s",
                    len(ctx.replica),
                    time.monotonic() - began,
                )


def apply_record(replica: Replica, message: Incoming, now: datetime) -> str | DeadLetter | None:
    """Apply one upsert or tombstone; the changed record's id, a dead letter, or None."""
    if message.value is None:
        try:
            deleted = ChildRecordDeleted.from_key(message.text_key)
        except ValueError:
            return None
        replica.delete(deleted.key)
        return None
    result = validate(ChildRecord, message.value, message.origin, now)
    if isinstance(result, DeadLetter):
        return result
    return result.key if replica.upsert(result) else None


def _incoming(message: Any) -> Incoming:  # an aiokafka ConsumerRecord[bytes, bytes]
    return Incoming(message.topic, message.partition, message.offset, message.key, message.value)


async def _reached(consumer: AIOKafkaConsumer, tp: TopicPartition, target: int) -> bool:
    return bool(await consumer.position(tp) >= target)
