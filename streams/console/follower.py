"""What the console shows, followed from the topics: the possible matches, the decisions,
the incidents and the council's records into the ``ReviewBook``; every agency's
notifications and the acknowledgements into the ``Inbox``; the console's own inbox
activity; the compliance alerts for the duty board. Every partition, from the beginning
and with no consumer group; the console is ready once it has caught up. A
record it cannot read is counted and skipped (the worker dead-letters inputs; what the
console reads has been through it), and never logged with its content."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from schemas import (
    Acknowledgement,
    ChildRecord,
    ComplianceAlert,
    InboxActivity,
    Notification,
    PoliceIncident,
    PossibleMatch,
    ReviewDecision,
)
from streams import topics
from streams.console.activity import Activity
from streams.console.alerts import AlertLog
from streams.console.book import ReviewBook
from streams.console.metrics import ConsoleMetrics
from streams.inbox import Inbox
from streams.settings import Settings
from streams.topics import topic_name
from streams.topics.follow import follow

log = logging.getLogger("frontdoor.console")
WARM_S = 0.05  # of each pass between batches, spent working out what pairs hold back
SHOWN = (
    topics.REVIEW_MATCHES,
    topics.REVIEW_DECISIONS,
    topics.POLICE_INCIDENTS,
    topics.CHILD_RECORDS,
    *topics.NOTIFY.values(),
    topics.ACKS,
    topics.INBOX_ACTIVITY,
    topics.COMPLIANCE_ALERTS,
)
_KINDS = {
    topics.REVIEW_MATCHES.name: "possible_match",
    topics.REVIEW_DECISIONS.name: "review_decision",
    topics.POLICE_INCIDENTS.name: "incident",
    topics.CHILD_RECORDS.name: "child_record",
    **{spec.name: "notification" for spec in topics.NOTIFY.values()},
    topics.ACKS.name: "acknowledgement",
    topics.INBOX_ACTIVITY.name: "inbox_activity",
    topics.COMPLIANCE_ALERTS.name: "alert",
}


@dataclass
class Follower:
    settings: Settings
    book: ReviewBook
    metrics: ConsoleMetrics
    clock: Callable[[], datetime]
    inbox: Inbox = field(default_factory=Inbox)
    activity: Activity = field(default_factory=Activity)
    alerts: AlertLog = field(default_factory=AlertLog)
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    changed: bool = False
    settled_in: bool = False  # caught up, and the queue's order worked out once

    async def run(self) -> None:
        """Follow the topics; the collector waits while the book is first filled, then
        what it holds is frozen out of its passes (a pass over the records showed as
        pauses of hundreds of milliseconds on pages)."""
        names = [topic_name(spec, self.settings) for spec in SHOWN]
        gc.disable()
        try:
            await follow(self.settings, names, self.apply, self.caught_up, self._after_batch)
        finally:
            gc.enable()

    def apply(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        kind = _KINDS.get(topic.removeprefix(self.settings.topic_prefix), "other")
        self.changed = True
        try:
            text = key.decode() if key is not None else ""
            if kind == "child_record":
                record = ChildRecord.model_validate_json(value) if value is not None else None
                self.book.record(text, record)
            elif value is None:
                return
            elif kind == "possible_match":
                self.book.possible_match(text, PossibleMatch.model_validate_json(value))
            elif kind == "review_decision":
                self.book.decision(ReviewDecision.model_validate_json(value))
            elif kind == "incident":
                self.book.incident(text, PoliceIncident.model_validate_json(value), self.clock())
            elif kind == "notification":
                self.inbox.notification(Notification.model_validate_json(value))
            elif kind == "acknowledgement":
                self.inbox.acknowledgement(Acknowledgement.model_validate_json(value))
            elif kind == "inbox_activity":
                self.activity.apply(InboxActivity.model_validate_json(value))
            elif kind == "alert":
                self.alerts.add(ComplianceAlert.model_validate_json(value))
        except (ValidationError, UnicodeDecodeError):
            self.metrics.unreadable.labels(kind).inc()
            log.warning("unreadable record on a %s topic skipped", kind)

    def _after_batch(self) -> None:
        if self.changed:
            self.changed = False
            now = self.clock()
            self.book.forget_old_incidents(now)
            self.alerts.forget_before(now)
            self.metrics.open_reviews.set(sum(1 for p in self.book if p.state != "settled"))
            self.metrics.open_notifications.set(sum(1 for h in self.inbox if not h.acks))
        if not self.caught_up.is_set():
            return
        left = self.book.warm(self.clock(), WARM_S)  # between batches, the queue's work
        self.metrics.unprepared.set(left)
        if not gc.isenabled() or (not self.settled_in and left == 0):
            self.settled_in = left == 0
            gc.freeze()
            gc.enable()
