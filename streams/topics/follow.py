"""Following topics from the beginning, for services that hold what they show (the gateway,
the console), and the producer they publish with.

``follow`` reads every partition of the topics from the start with no consumer group, so
every instance holds all of it, hands each record to ``apply`` and sets ``caught_up``
once it has read to the end offsets it found at the start (the service is ready then).
``Publisher`` answers only once the broker has the event on every in-sync replica
(idempotent, ``acks=all``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.settings import Settings
from streams.topics.idempotence import SESSION_BROKEN, renew_if_broken

# (topic, key, value) of one record, as it is on the topic.
Apply = Callable[[str, bytes | None, bytes | None], None]


async def follow(
    settings: Settings,
    names: Sequence[str],
    apply: Apply,
    caught_up: asyncio.Event,
    after_batch: Callable[[], None] | None = None,
) -> None:
    """Apply every record of ``names`` (topic names), forever; cancel to stop."""
    consumer = AIOKafkaConsumer(
        **settings.aiokafka_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p)
            for t in sorted(set(names))
            for p in sorted(await partitions_of(consumer, t))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        behind = {tp for tp, end in ends.items() if end > 0}
        if not behind:
            caught_up.set()
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, records in batch.items():
                for record in records:
                    apply(record.topic, record.key, record.value)
                if tp in behind and records[-1].offset + 1 >= ends[tp]:
                    behind.discard(tp)
            if behind:
                for tp in list(behind):
                    if await consumer.position(tp) >= ends[tp]:
                        behind.discard(tp)
            if not behind and not caught_up.is_set():
                caught_up.set()
            if after_batch is not None:
                after_batch()
    finally:
        await consumer.stop()


async def partitions_of(consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 30) -> set[int]:
    """The partitions of ``topic``, waiting for its metadata (it may be new)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic} not found; run `frontdoor topics create`")
        await consumer._client.force_metadata_update()  # aiokafka: no public refresh
        await asyncio.sleep(0.2)


class Publisher:
    """An idempotent ``acks=all`` producer: ``send`` returns once the broker has the event."""

    def __init__(self, settings: Settings, request_timeout_s: float = 30.0) -> None:
        self._producer = AIOKafkaProducer(
            **settings.aiokafka_options(),
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=int(request_timeout_s * 1000),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, key: str, value: bytes | None) -> None:
        """Raises what the producer raises (the caller answers 503 or retries); after an
        outage that spent a sequence number, the next send starts a new session."""
        try:
            await self._producer.send_and_wait(topic, value=value, key=key.encode())
        except SESSION_BROKEN as error:
            renew_if_broken(self._producer, error)
            raise
