"""The worker's topology run in-process: no broker, a clock the test moves.

Like Kafka Streams' ``TopologyTestDriver``, it runs what ``build_topology`` declares in
place of faust. ``send`` publishes to a topic as a producer would; the handler runs in a
batch, what it would send (topic, key, value) and its table changes are collected, then
frontdoor's internal topics are delivered to their handlers until nothing is left.
``council`` feeds council records as the replica task does; ``advance`` moves the clock
and runs every timer once; ``restore`` gives a restarted worker its tables. A write to a
topic or a table the running stream, timer or task does not declare: ``UndeclaredWrite``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel

from schemas import ChildRecord
from streams import topics
from streams.routing import Policy, load_policy
from streams.settings import Settings
from streams.worker.context import Incoming, Tables, WorkerContext
from streams.worker.outbox import Outbox, partition_of
from streams.worker.topology import Stream, Task, Timer, Topology, build_topology

M = TypeVar("M", bound=BaseModel)


class UndeclaredWrite(AssertionError):
    """A handler wrote somewhere its entry in the topology does not declare."""


@dataclass(frozen=True)
class Sent:
    """One record frontdoor would have sent."""

    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone
    partition: int
    offset: int
    timestamp: float | None = None  # set when frontdoor forwards a party's record
    headers: tuple[tuple[str, bytes], ...] = ()

    def model(self, model: type[M]) -> M:
        return model.model_validate_json(self.value or b"")


@dataclass(frozen=True)
class TableChange:
    table: str
    key: bytes
    value: bytes | None  # None: deleted


class _RecordingTable(dict[bytes, bytes]):
    def __init__(self, name: str, driver: WorkerTestDriver) -> None:
        super().__init__()
        self.name = name
        self._driver = driver

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._driver._table_written(TableChange(self.name, key, value))
        super().__setitem__(key, value)

    def __delitem__(self, key: bytes) -> None:
        self._driver._table_written(TableChange(self.name, key, None))
        super().__delitem__(key)


Running = Stream | Timer | Task


class WorkerTestDriver:
    """One worker that owns every partition, with every table in memory."""

    MAX_ROUNDS = 10_000  # internal deliveries per call before the driver calls it a loop

    def __init__(
        self,
        now: datetime,
        *,
        policy: Policy | None = None,
        settings: Settings | None = None,
        records: Iterable[ChildRecord] = (),
        topology: Callable[[WorkerContext], Topology] = build_topology,
        tick: timedelta = timedelta(0),
    ) -> None:
        self.now = now
        self.tick = tick  # each reading of the clock moves it on by this (a slow clock)
        self.settings = settings or Settings(topic_prefix="", partitions=4)
        self.sent: list[Sent] = []
        self.changes: list[TableChange] = []
        self._tables: dict[str, _RecordingTable] = {}
        self._offsets: defaultdict[tuple[str, int], int] = defaultdict(int)
        self._queue: deque[Sent] = deque()
        self._running: Running | None = None
        self._loop = asyncio.new_event_loop()
        tables = Tables.create(self._table)
        policy = policy or load_policy(self.settings.policy_file)
        self.ctx = WorkerContext.create(self.settings, self.clock, policy, tables, self)
        self.ctx.replica_ready.set()
        self.topology = topology(self.ctx)
        self._readers = {
            self.ctx.name(spec): stream for stream in self.topology.streams for spec in stream.reads
        }
        self._records_task = next(t for t in self.topology.tasks if topics.CHILD_RECORDS in t.reads)
        if records:
            self.council(records)

    def close(self) -> None:
        self._loop.close()

    def __enter__(self) -> WorkerTestDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- feeding the worker
    def clock(self) -> datetime:
        """The test's time, a ``tick`` later at each reading (as a real clock moves on)."""
        self.now += self.tick
        return self.now - self.tick

    def send(
        self,
        spec: topics.TopicSpec,
        key: str | bytes | None,
        value: BaseModel | bytes | None,
        published_at: datetime | None = None,
    ) -> list[Sent]:
        """Publish one event to ``spec``; everything frontdoor sent as a result."""
        return self.send_batch(spec, [(key, value)], published_at)

    def send_batch(
        self,
        spec: topics.TopicSpec,
        events: list[tuple[str | bytes | None, BaseModel | bytes | None]],
        published_at: datetime | None = None,
    ) -> list[Sent]:
        """Publish events that the worker then takes as one batch."""
        mark = len(self.sent)
        name = self.ctx.name(spec)
        stream = self._readers.get(name)
        if stream is None:
            raise ValueError(f"no stream of the topology reads {name}")
        batch = [self._incoming(name, _bytes(k), _bytes(v), published_at) for k, v in events]
        self._batch(stream, batch)
        self._pump()
        return self.sent[mark:]

    def council(
        self, records: Iterable[ChildRecord] = (), deleted: Iterable[str] = ()
    ) -> list[Sent]:
        """Council records (upserts, then deletions by key) as the replica task reads them."""
        mark = len(self.sent)
        name = self.ctx.name(topics.CHILD_RECORDS)
        events = [
            self._incoming(name, r.key.encode(), r.model_dump_json().encode()) for r in records
        ]
        events += [self._incoming(name, key.encode(), None) for key in deleted]
        self._batch(self._records_task, events)
        self._pump()
        return self.sent[mark:]

    def restore(self, tables: dict[str, dict[bytes, bytes]]) -> None:
        """Tables as a restarted worker recovers them from their changelogs (not changes)."""
        for name, rows in tables.items():
            dict.update(self._tables[name], rows)

    def advance(self, by: timedelta) -> list[Sent]:
        """Move the clock on, then run every timer once."""
        mark = len(self.sent)
        self.now += by
        for timer in self.topology.timers:
            self._run(timer, timer.run())
            self._pump()
        return self.sent[mark:]

    # -- what happened
    def sent_to(self, spec: topics.TopicSpec) -> list[Sent]:
        name = self.ctx.name(spec)
        return [s for s in self.sent if s.topic == name]

    def table(self, name: str) -> dict[bytes, bytes]:
        return dict(self._tables[name])

    # -- the Runtime the agents see
    def is_ready(self) -> bool:
        return self.ctx.replica_caught_up

    def stopping(self) -> bool:
        return False

    def assigned(self) -> set[tuple[str, int]]:
        partitions = range(self.settings.partitions)
        every = topics.for_forces(self.ctx.policy.signals.police_sources)
        return {(self.ctx.name(spec), p) for spec in every for p in partitions}

    async def deliver(self, out: Outbox) -> None:
        running = self._running
        writes = (
            running.may_write if isinstance(running, Stream) else getattr(running, "writes", ())
        )
        allowed = {self.ctx.name(spec) for spec in writes}
        for record in out.messages():
            if record.topic not in allowed:
                raise UndeclaredWrite(f"{_label(self._running)} wrote {record.topic}")
            partition = record.partition
            if partition is None:
                partition = _partition(record.key, self.settings.partitions)
            offset = self._next_offset(record.topic, partition)
            stamp = record.timestamp_ms / 1000 if record.timestamp_ms is not None else None
            sent = Sent(
                record.topic, record.key, record.value, partition, offset, stamp, record.headers
            )
            self.sent.append(sent)
            if record.topic in self._readers:
                self._queue.append(sent)
            if record.on_delivered is not None:
                record.on_delivered(offset)
        for action in out.after_delivery:
            action()

    # -- the machinery
    def _table(self, name: str) -> _RecordingTable:
        self._tables[name] = _RecordingTable(name, self)
        return self._tables[name]

    def _table_written(self, change: TableChange) -> None:
        running = self._running
        if not isinstance(running, Stream) or change.table not in running.tables:
            raise UndeclaredWrite(f"{_label(running)} wrote table {change.table}")
        self.changes.append(change)

    def _batch(self, running: Stream | Task, events: list[Incoming]) -> None:
        """One batch, as faust runs it: handle each event, then deliver what it produced."""

        async def batch() -> None:
            await self.ctx.wait_for_replica()
            out = self.ctx.outbox()
            if isinstance(running, Task):
                running.handler(out, events)
            else:
                running.handle(self.ctx, out, events)
            await self.ctx.flush(out)

        self._run(running, batch())

    def _run(self, running: Running, work: Awaitable[None]) -> None:
        self._running = running
        try:
            self._loop.run_until_complete(work)
        finally:
            self._running = None

    def _pump(self) -> None:
        """Deliver what frontdoor sent to its own topics, in order, until none is left."""
        for _ in range(self.MAX_ROUNDS):
            if not self._queue:
                return
            s = self._queue.popleft()
            event = Incoming(s.topic, s.partition, s.offset, s.key, s.value, s.timestamp, s.headers)
            self._batch(self._readers[s.topic], [event])
        raise RuntimeError(f"still delivering after {self.MAX_ROUNDS} internal messages")

    def _incoming(
        self, topic: str, key: bytes | None, value: bytes | None, at: datetime | None = None
    ) -> Incoming:
        """An event another party published: appended to its topic's partition by key."""
        partition = _partition(key, self.settings.partitions)
        offset = self._next_offset(topic, partition)
        stamp = at.timestamp() if at is not None else None
        return Incoming(topic, partition, offset, key, value, stamp)

    def _next_offset(self, topic: str, partition: int) -> int:
        self._offsets[topic, partition] += 1
        return self._offsets[topic, partition] - 1


def _bytes(value: str | bytes | BaseModel | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else value.model_dump_json().encode()


def _partition(key: bytes | None, partitions: int) -> int:
    return partition_of(key, partitions) if key is not None else 0


def _label(running: Running | None) -> str:
    what = running.name if isinstance(running, Stream) else getattr(running, "run", None)
    return f"{type(running).__name__.lower()} {getattr(what, '__name__', what)}"
