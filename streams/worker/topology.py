"""The whole worker on one page: what it reads, which handler, what it writes.

As in Kafka Streams, the topology is a value built apart from what runs it: faust runs
it (``streams.worker.app.create_app``) and so does the in-process test driver
(``streams.worker.driver``), which also holds every handler to what is declared here:
a handler that writes a topic or a table it does not declare fails there.

Every stream takes its events in batches, handles each, and delivers what the batch
produced before the batch's offsets are acknowledged (at-least-once); agent
concurrency stays at 1 (faust issue 606); outputs carry deterministic ids, so a retry
or a replay never produces a second, different event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from streams.topics import (
    ACKS,
    AGENCY_ACKS,
    AUDIT,
    CHILD_HISTORY,
    CHILD_RECORDS,
    COMPLIANCE_ALERTS,
    DEAD_LETTERS,
    DEADLINES,
    MEETINGS,
    NOTIFY,
    POLICE_INCIDENTS,
    REMATCH,
    REVIEW_DECISIONS,
    REVIEW_MATCHES,
    SEQUENCES,
    TopicSpec,
)
from streams.worker import web
from streams.worker.agents import (
    CouncilRecords,
    Deadlines,
    History,
    Incidents,
    Intake,
    Meetings,
    PoliceSignals,
    Reviews,
)
from streams.worker.context import Incoming, Tables, WorkerContext
from streams.worker.outbox import Outbox

# A handler is given the clock's reading for its event: one instant per event, so every
# output of an event (audit, notifications, deadlines) carries the same time.
Handler = Callable[[Outbox, Incoming, datetime], None]
BatchHandler = Callable[[Outbox, list[Incoming]], None]


@dataclass(frozen=True)
class Stream:
    """Events from ``reads`` (co-partitioned topics), one at a time, to ``handler``."""

    reads: tuple[TopicSpec, ...]
    handler: Handler
    writes: tuple[TopicSpec, ...]
    tables: tuple[str, ...] = ()
    needs_replica: bool = False  # waits until the council records replica has caught up

    @property
    def name(self) -> str:
        return self.handler.__name__  # faust's agent name derives from it

    @property
    def may_write(self) -> tuple[TopicSpec, ...]:
        """What it declares, and the dead-letter topic: any event may fail."""
        return (*self.writes, DEAD_LETTERS)

    def handle(self, ctx: WorkerContext, out: Outbox, events: Iterable[Incoming]) -> None:
        """Each event on its own, at the one instant the clock is read for it: one whose
        processing fails is dead-lettered (``processing_error``) with nothing it
        produced, and the batch goes on."""
        for event in events:
            now = ctx.clock()
            mark = out.checkpoint()
            try:
                self.handler(out, event, now)
            except Exception as error:
                out.rollback(mark)
                ctx.processing_failed(out, self.name, event, error, now)


@dataclass(frozen=True)
class Timer:
    every_s: float
    run: Callable[[], Awaitable[None]]
    writes: tuple[TopicSpec, ...]


@dataclass(frozen=True)
class Task:
    """Runs for the worker's life, reading ``reads`` outside the consumer group and
    passing what it reads to ``handler`` a batch at a time."""

    run: Callable[[], Awaitable[None]]
    reads: tuple[TopicSpec, ...]
    handler: BatchHandler
    writes: tuple[TopicSpec, ...]


@dataclass(frozen=True)
class Page:
    path: str
    render: Callable[[], web.Response]


@dataclass(frozen=True)
class Topology:
    streams: tuple[Stream, ...]
    tasks: tuple[Task, ...]
    timers: tuple[Timer, ...]
    tables: tuple[str, ...]
    pages: tuple[Page, ...]


def build_topology(ctx: WorkerContext) -> Topology:
    police = PoliceSignals(ctx)
    incidents = Incidents(ctx, police)
    reviews = Reviews(ctx)
    deadlines = Deadlines(ctx)
    history = History(ctx)
    meetings = Meetings(ctx)
    records = CouncilRecords(ctx, reviews.request_rematch)
    intake = Intake(ctx, police)
    notify = tuple(NOTIFY.values())
    routed = (*notify, REVIEW_MATCHES, AUDIT, DEADLINES, CHILD_HISTORY)
    return Topology(
        streams=(
            *(
                Stream(  # each force's own topic: provenance checked, forwarded unchanged
                    intake.force_topics,
                    intake.incident_published,
                    writes=(POLICE_INCIDENTS, DEAD_LETTERS, SEQUENCES, COMPLIANCE_ALERTS),
                ),
            )[: 1 if intake.force_topics else 0],
            Stream(  # each agency's own acknowledgements, likewise
                tuple(AGENCY_ACKS.values()),
                intake.acknowledgement_published,
                writes=(ACKS, DEAD_LETTERS),
            ),
            Stream(
                (POLICE_INCIDENTS,),
                incidents.incident_arrived,
                writes=(*routed, DEAD_LETTERS, SEQUENCES, COMPLIANCE_ALERTS),
                tables=("pending",),
                needs_replica=True,
            ),
            Stream(
                (REVIEW_DECISIONS,),
                reviews.review_decided,
                writes=(*routed, DEAD_LETTERS),
                tables=("pending",),
                needs_replica=True,
            ),
            Stream(
                (REMATCH,),
                reviews.rematch_requested,
                writes=routed,
                tables=("pending",),
                needs_replica=True,
            ),
            Stream(
                (CHILD_HISTORY,),
                history.children_notified,
                writes=(*notify, AUDIT, DEADLINES),
                tables=("child-history",),
            ),
            Stream(  # co-partitioned by item id: one worker owns each deadline
                (DEADLINES, ACKS),
                deadlines.deadline_event,
                writes=(COMPLIANCE_ALERTS, DEAD_LETTERS),
                tables=("deadlines",),
            ),
            Stream(
                (SEQUENCES,),
                police.sequences_observed,
                writes=(COMPLIANCE_ALERTS,),
                tables=("sequences",),
            ),
            Stream(
                (MEETINGS,), meetings.meeting_held, writes=(DEAD_LETTERS,), tables=("meetings",)
            ),
        ),
        tasks=(
            Task(
                records.follow,
                reads=(CHILD_RECORDS,),
                handler=records.records_arrived,
                writes=(REMATCH, DEAD_LETTERS),
            ),
        ),
        timers=(
            # Every quarter second, so that with the check's round trip through its topic a
            # miss or an overdue gap is flagged within a second of falling due.
            Timer(0.25, deadlines.check_due, writes=(DEADLINES,)),
            Timer(15.0, deadlines.scan_deadlines, writes=(DEADLINES,)),  # one scrape interval
            Timer(0.25, police.scan_sequences, writes=(SEQUENCES,)),
            Timer(300.0, reviews.sweep_pending, writes=(REMATCH,)),
        ),
        tables=Tables.NAMES,
        pages=(
            Page("/health", lambda: web.health(ctx)),
            Page("/metrics", web.prometheus_metrics),
        ),
    )
