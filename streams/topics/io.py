"""Produce to and read from frontdoor's topics outside the worker: demo, tests, tools.

Every read has a timeout; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.connection import TopicUnreadable
from streams.settings import Settings
from streams.topics.catalogue import TopicSpec, topic_name

Record = Any  # aiokafka.structs.ConsumerRecord[bytes, bytes]
T = TypeVar("T")


async def _produce(
    settings: Settings,
    spec: TopicSpec,
    items: Sequence[tuple[bytes | None, bytes | None]],
    timeout_s: float | None,
) -> None:
    producer = AIOKafkaProducer(**settings.aiokafka_options(), acks="all", enable_idempotence=True)

    async def send_all() -> None:
        await producer.start()
        name = topic_name(spec, settings)
        pending = [await producer.send(name, value, key=key) for key, value in items]
        await asyncio.gather(*pending)

    try:
        await asyncio.wait_for(send_all(), timeout_s)
    finally:
        # A producer stuck after a broker fault may never stop cleanly: abandon it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(producer.stop(), timeout_s)


def produce(
    settings: Settings,
    spec: TopicSpec,
    items: Sequence[tuple[bytes | None, bytes | None]],
    timeout_s: float | None = None,
) -> None:
    """Send every (key, value) in order and wait until the broker has them all (raises
    ``TimeoutError`` after ``timeout_s``, when given: some may have been sent)."""
    asyncio.run(_produce(settings, spec, items, timeout_s))


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


async def _scan(
    settings: Settings,
    specs: Sequence[TopicSpec],
    visit: Callable[[Record], None],
    stall_s: float,
) -> int:
    consumer = AIOKafkaConsumer(
        **settings.aiokafka_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # A scan reads whole topics: fewer, larger fetches (4 MiB a partition, 50 MiB in
        # all) cost the broker and this process less per record than the 1 MiB default.
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    seen = 0
    try:
        cluster = await consumer._client.fetch_all_metadata()  # no public call returns it
        names = [topic_name(spec, settings) for spec in specs]
        # A topic this principal may not read is absent from the metadata, like one that
        # does not exist: say so rather than read nothing (an empty report would look
        # like a quiet period).
        missing = [n for n in names if not cluster.partitions_for_topic(n)]
        if missing:
            who = settings.sasl_username or "this client"
            raise TopicUnreadable(
                f"cannot read {', '.join(missing)}: no such topic, or {who} may not read it"
            )
        partitions = [
            TopicPartition(n, p) for n in names for p in sorted(cluster.partitions_for_topic(n))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        progressed = time.monotonic()
        while True:
            remaining = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
            if not remaining:
                return seen
            if time.monotonic() - progressed > stall_s:
                raise TimeoutError(
                    f"no progress reading {len(remaining)} partitions for {stall_s:.0f} s"
                )
            for messages in (await consumer.getmany(*remaining, timeout_ms=500)).values():
                for message in messages:
                    visit(message)
                seen += len(messages)
                progressed = time.monotonic()
    finally:
        await consumer.stop()


def scan(
    settings: Settings,
    specs: Sequence[TopicSpec],
    visit: Callable[[Record], None],
    stall_s: float = 60,
) -> int:
    """Hand every record in the topics as they stand now (to the end offsets at the
    start) to ``visit``, without keeping them; fails if reading stalls for ``stall_s``."""
    return asyncio.run(_scan(settings, specs, visit, stall_s))


def read_all(
    settings: Settings, specs: Sequence[TopicSpec], timeout_s: float = 120
) -> list[Record]:
    """Every record in the topics as they stand now (to the end offsets at the start)."""
    records: list[Record] = []
    scan(settings, specs, records.append, timeout_s)
    return records


async def _find(
    settings: Settings,
    specs: Sequence[TopicSpec],
    match: Callable[[Record], T | None],
    timeout_s: float,
) -> T | None:
    consumer = AIOKafkaConsumer(
        *(topic_name(spec, settings) for spec in specs),
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for message in messages:
                    found = match(message)
                    if found is not None:
                        return found
    finally:
        await consumer.stop()
    return None


def find(
    settings: Settings,
    specs: Sequence[TopicSpec],
    match: Callable[[Record], T | None],
    timeout_s: float = 60,
) -> T:
    """The first record (from the start of the topics, then as they arrive) for which
    ``match`` gives something, and what it gave; one consumer for the whole wait, not one
    per look. Raises ``TimeoutError`` naming the topics after ``timeout_s``."""
    found = asyncio.run(_find(settings, specs, match, timeout_s))
    if found is None:
        names = ", ".join(spec.name for spec in specs)
        raise TimeoutError(f"nothing looked for arrived on {names} within {timeout_s:.0f} s")
    return found
