"""Produce to and read from frontdoor's topics outside the worker: demo, tests, tools.

Every read has a timeout; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.settings import Settings
from streams.topics import TopicSpec, topic_name

Record = Any  # aiokafka.structs.ConsumerRecord[bytes, bytes]


async def _produce(
    settings: Settings, spec: TopicSpec, items: Sequence[tuple[bytes | None, bytes | None]]
) -> None:
    producer = AIOKafkaProducer(**settings.aiokafka_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        name = topic_name(spec, settings)
        pending = [await producer.send(name, value, key=key) for key, value in items]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def produce(
    settings: Settings, spec: TopicSpec, items: Sequence[tuple[bytes | None, bytes | None]]
) -> None:
    """Send every (key, value) in order and wait until the broker has them all."""
    asyncio.run(_produce(settings, spec, items))


async def _consume(
    settings: Settings, specs: Sequence[TopicSpec], count: int, timeout_s: float, linger_s: float
) -> list[Record]:
    consumer = AIOKafkaConsumer(
        *(topic_name(spec, settings) for spec in specs),
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
        if linger_s and len(records) >= count:  # would anything unexpected follow?
            for messages in (await consumer.getmany(timeout_ms=int(linger_s * 1000))).values():
                records.extend(messages)
    finally:
        await consumer.stop()
    return records


def consume(
    settings: Settings,
    spec: TopicSpec | Sequence[TopicSpec],
    count: int,
    timeout_s: float = 60,
    linger_s: float = 0,
) -> list[Record]:
    """Records from the start of the topic(s) until ``count`` arrived or the timeout passed;
    then ``linger_s`` more to catch records that should not be there."""
    specs = [spec] if isinstance(spec, TopicSpec) else list(spec)
    return asyncio.run(_consume(settings, specs, count, timeout_s, linger_s))
