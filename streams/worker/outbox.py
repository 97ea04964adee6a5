"""What one batch of input events produces, sent together and confirmed together.

Why: faust's own send path costs about as much per message as a whole naive passthrough
event, and an incident produces some ten messages. Agents collect their outputs here,
hand them to the producer in one go, and wait for every delivery before the batch's
offsets are committed (at-least-once, as before, at batch rather than event grain).

Internal events bound for the same partition of an internal topic travel as one
``Batch`` message (``streams.topics.messages``): one send per partition per batch
instead of one per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka.partitioner import murmur2
from pydantic import BaseModel


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) puts ``key`` in."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone
    partition: int | None = None
    on_delivered: Callable[[int], None] | None = None  # called with the record's offset
    timestamp_ms: int | None = None  # None: the broker's clock (set when forwarding)
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    records: int
    grouped: dict[tuple[str, int], int]
    after_delivery: int


@dataclass
class Outbox:
    """Messages in the order they were added; internal events grouped by partition."""

    partitions: int
    records: list[Record] = field(default_factory=list)
    _grouped: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    after_delivery: list[Callable[[], None]] = field(default_factory=list)

    def send(
        self,
        topic: str,
        key: str | bytes | None,
        value: BaseModel | bytes,
        timestamp_ms: int | None = None,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        raw_key = key.encode() if isinstance(key, str) else key
        raw = value if isinstance(value, bytes) else value.model_dump_json().encode()
        self.records.append(Record(topic, raw_key, raw, timestamp_ms=timestamp_ms, headers=headers))

    def send_to(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        partition: int,
        on_delivered: Callable[[int], None] | None = None,
    ) -> None:
        """A record for a known partition (a table's changelog); None is a tombstone."""
        self.records.append(Record(topic, key, value, partition, on_delivered))

    def send_internal(self, topic: str, key: str, item: BaseModel) -> None:
        """Queue ``item`` for the partition ``key`` hashes to, batched with its neighbours."""
        where = (topic, partition_of(key.encode(), self.partitions))
        self._grouped.setdefault(where, []).append(item.model_dump_json())

    def then(self, action: Callable[[], None]) -> None:
        """Run ``action`` once everything has been delivered (e.g. observe a latency)."""
        self.after_delivery.append(action)

    def __len__(self) -> int:
        return len(self.records) + len(self._grouped)

    def checkpoint(self) -> Checkpoint:
        """Where the outbox stands now, to undo one event's output (``rollback``)."""
        grouped = {where: len(items) for where, items in self._grouped.items()}
        return Checkpoint(len(self.records), grouped, len(self.after_delivery))

    def rollback(self, to: Checkpoint) -> None:
        """Drop what was added since ``to``, except table changelog records: the table
        already holds those writes, and its changelog must say what it holds."""
        added = self.records[to.records :]
        del self.records[to.records :]
        self.records += [r for r in added if r.on_delivered is not None]
        for where in list(self._grouped):
            kept = to.grouped.get(where, 0)
            if kept:
                del self._grouped[where][kept:]
            else:
                del self._grouped[where]
        del self.after_delivery[to.after_delivery :]

    def messages(self) -> Iterator[Record]:
        yield from self.records
        for (topic, partition), items in self._grouped.items():
            value = ('{"items":[' + ",".join(items) + "]}").encode()
            yield Record(topic, None, value, partition)


class _Producer(Protocol):
    async def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = ...,
        partition: int | None = ...,
        timestamp_ms: int | None = ...,
        headers: list[tuple[str, bytes]] | None = ...,
    ) -> asyncio.Future[Any]: ...


async def deliver(producer: _Producer, outbox: Outbox) -> int:
    """Send everything and wait until the broker has every message (acks=all): what the
    batch sends first, then the tables' changelog records.

    Why in that order: without transactions, a worker killed mid-delivery may leave any
    subset on the broker. Had a changelog write (say, "this child's incident escalated")
    landed without the notification it stands for, the next owner would rebuild a table
    that says it was done, read the batch again and send nothing: an escalation lost
    (the fault suite's ten kill -9s lost 36 R12 notifications so, 2026-12-07). Changelog
    last, a crash between the two only sends something again, under the same id."""
    records = list(outbox.messages())
    state = [r for r in records if r.on_delivered is not None]
    sent = await _send_all(producer, [r for r in records if r.on_delivered is None])
    sent += await _send_all(producer, state)
    for action in outbox.after_delivery:
        action()
    return sent


async def _send_all(producer: _Producer, records: list[Record]) -> int:
    pending = [
        await producer.send(
            record.topic,
            record.value,
            key=record.key,
            partition=record.partition,
            timestamp_ms=record.timestamp_ms,
            headers=list(record.headers) or None,
        )
        for record in records
    ]
    if pending:
        results = await asyncio.gather(*pending)
        for record, result in zip(records, results, strict=True):
            if record.on_delivered is not None:
                record.on_delivered(result.offset)
    return len(pending)
