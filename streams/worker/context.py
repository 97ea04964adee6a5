"""What every agent of one worker shares, and the helpers that put outputs in a batch.

Agents are plain classes whose methods handle one event at a time: ``(out, event)``,
where ``out`` is the batch's ``Outbox`` and ``event`` an ``Incoming``. They reach the
world only through a ``WorkerContext``: settings, clock, policy and calendar, the
council records replica, the tables, topic names, and a ``Runtime`` that delivers an
outbox and knows which partitions this worker owns. Faust is one runtime
(``streams.worker.app``); the in-process test driver is another
(``streams.worker.driver``), so every handler runs the same way under both.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from pydantic import BaseModel

from schemas import ComplianceAlert, DeadLetter, Notification
from schemas.deadletter import DeadLetterReason
from streams import topics
from streams.clock import Clock
from streams.compliance import DeadlineCommand, alert_rules
from streams.incidents import Origin, bounded_key, dead_letter_for, validate
from streams.matching import Matcher, MatchModel, Replica
from streams.routing import Calendar, Policy
from streams.settings import Settings
from streams.worker import metrics
from streams.worker.outbox import Outbox

E = TypeVar("E", bound=BaseModel)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One input event as a handler sees it, whichever runtime delivered it."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None
    timestamp: float | None = None  # Kafka's record time, seconds since the epoch
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def origin(self) -> Origin:
        return Origin(self.topic, self.partition, self.offset, self.key)

    @property
    def text_key(self) -> str:
        return (self.key or b"").decode(errors="replace")

    @property
    def published_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.timestamp, UTC) if self.timestamp else None


class Table(Protocol):
    """What agents ask of a table: faust's changelog-backed ``Table``, or a dict."""

    def get(self, key: bytes) -> bytes | None: ...
    def __setitem__(self, key: bytes, value: bytes) -> None: ...
    def __delitem__(self, key: bytes) -> None: ...
    def __len__(self) -> int: ...
    def items(self) -> Iterable[tuple[bytes, bytes]]: ...
    def keys(self) -> Iterable[bytes]: ...
    def values(self) -> Iterable[bytes]: ...


@dataclass(frozen=True)
class Tables:
    """Every table a worker keeps, keyed by bytes (see ``streams.worker.state``)."""

    pending: Table  # incidents with children unmatched or under review
    history: Table  # each child's recent incidents, for repeat escalation
    deadlines: Table  # notifications, reviews and watches awaiting their deadline
    sequences: Table  # each force's sequence numbers and open gaps
    meetings: Table  # each strategy meeting's last status

    NAMES = ("pending", "child-history", "deadlines", "sequences", "meetings")

    @classmethod
    def create(cls, make: Callable[[str], Table]) -> Tables:
        return cls(*(make(name) for name in cls.NAMES))


class Runtime(Protocol):
    """What runs the agents: delivers what a batch produced, knows what this worker owns."""

    def is_ready(self) -> bool: ...
    def stopping(self) -> bool: ...
    def assigned(self) -> set[tuple[str, int]]: ...  # (topic, partition)
    async def deliver(self, out: Outbox) -> None: ...


@dataclass
class WorkerContext:
    settings: Settings
    clock: Clock
    policy: Policy
    calendar: Calendar
    replica: Replica
    tables: Tables
    runtime: Runtime
    # Set by the records task once the replica has read the council topic up to the end
    # offsets it saw at start: until then, nothing is matched against it.
    replica_ready: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def create(
        cls, settings: Settings, clock: Clock, policy: Policy, tables: Tables, runtime: Runtime
    ) -> WorkerContext:
        replica = Replica(Matcher(model=MatchModel.load(settings.match_model)))
        return cls(settings, clock, policy, policy.calendar(), replica, tables, runtime)

    # -- the runtime
    def name(self, spec: topics.TopicSpec) -> str:
        return topics.topic_name(spec, self.settings)

    def outbox(self) -> Outbox:
        return Outbox(self.settings.partitions)

    async def flush(self, out: Outbox) -> None:
        if len(out):
            await self.runtime.deliver(out)

    def owned(self, spec: topics.TopicSpec) -> set[int]:
        """The partitions of ``spec`` this worker owns now."""
        name = self.name(spec)
        return {partition for topic, partition in self.runtime.assigned() if topic == name}

    @property
    def replica_caught_up(self) -> bool:
        return self.replica_ready.is_set()

    async def wait_for_replica(self) -> None:
        await self.replica_ready.wait()

    # -- outbox helpers
    def accept(
        self, out: Outbox, event: Incoming, model: type[E], spec: topics.TopicSpec, now: datetime
    ) -> E | None:
        """The validated event, or None once it is on its way to the dead-letter topic."""
        result = validate(model, event.value, event.origin, now)
        if isinstance(result, DeadLetter):
            self.dead_letter(out, spec, event.key, result)
            return None
        return result

    def dead_letter(
        self, out: Outbox, spec: topics.TopicSpec, key: bytes | None, letter: DeadLetter
    ) -> None:
        out.send(self.name(topics.DEAD_LETTERS), bounded_key(key), letter)
        metrics.INVALID_EVENTS.labels(topic=spec.name, reason=letter.reason_class).inc()

    def processing_failed(
        self, out: Outbox, agent: str, event: Incoming, error: Exception, now: datetime
    ) -> None:
        """Dead-letter an event whose processing failed: the exception's type is the
        reason; its message (which may quote the event) goes nowhere."""
        reason = DeadLetterReason(
            location="",
            error_type=type(error).__name__,
            message="processing the event failed; nothing it produced was sent",
        )
        letter = dead_letter_for(
            event.value or b"", event.origin, now, "processing_error", [reason]
        )
        spec = topics.spec_of(event.topic, self.settings)
        out.send(self.name(topics.DEAD_LETTERS), bounded_key(event.key), letter)
        metrics.INVALID_EVENTS.labels(
            topic=spec.name if spec else "other", reason="processing_error"
        ).inc()
        metrics.PROCESSING_ERRORS.labels(agent=agent).inc()
        log.error(
            "%s: %s processing %s[%s]@%s; dead-lettered. Where:\n%s",
            agent,
            type(error).__name__,
            event.topic,
            event.partition,
            event.offset,
            "".join(traceback.format_tb(error.__traceback__)),
        )

    def send_notification(self, out: Outbox, notification: Notification) -> None:
        agency = notification.recipient.agency
        out.send(self.name(topics.NOTIFY[agency]), notification.notification_id, notification)
        for rule in notification.rules:
            metrics.NOTIFICATIONS.labels(agency=agency.value, rule=rule).inc()

    def track(self, out: Outbox, commands: Iterable[DeadlineCommand]) -> None:
        """Deadline commands go to the worker that owns each item (keyed by its id)."""
        deadlines = self.name(topics.DEADLINES)
        for command in commands:
            out.send_internal(deadlines, command.id, command)

    def raise_alerts(self, out: Outbox, alerts: Iterable[ComplianceAlert]) -> None:
        for alert in alerts:
            out.send(self.name(topics.COMPLIANCE_ALERTS), alert.alert_id, alert)
            metrics.ALERTS.labels(kind=alert.kind.value).inc()
            counter = metrics.ALERTS_BY_RULE.get(alert.kind)
            if counter is not None and alert.agency is not None:
                for rule in alert_rules(alert):
                    counter.labels(agency=alert.agency.value, rule=rule).inc()
