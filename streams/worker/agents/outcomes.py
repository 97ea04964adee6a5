"""Writing what the core decided about an incident's children, and the incidents that wait.

Shared by the agents that route children: a new incident, a reviewer's decision, a
re-match after a council record arrived.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

from schemas import PoliceIncident
from streams import topics
from streams.compliance import after_outcomes
from streams.incidents import ChildNotified, ChildOutcome, PendingIncident, child_key
from streams.worker import metrics
from streams.worker.context import WorkerContext
from streams.worker.outbox import Outbox


def publish(
    ctx: WorkerContext,
    out: Outbox,
    incident: PoliceIncident,
    outcomes: list[ChildOutcome],
    now: datetime,
    published_at: datetime | None = None,
) -> None:
    """Notifications, possible matches, audit records and child history for each
    outcome; the deadlines they open and close, registered at ``now`` (the event's)."""
    for outcome in outcomes:
        for notification in outcome.notifications:
            ctx.send_notification(out, notification)
        if published_at is not None and outcome.notifications:
            _observe_latency(out, published_at)
        if outcome.review is not None:
            out.send(ctx.name(topics.REVIEW_MATCHES), incident.key, outcome.review)
        out.send(ctx.name(topics.AUDIT), incident.key, outcome.audit)
        metrics.MATCH_DECISIONS.labels(decision=outcome.decision, stage=outcome.audit.stage).inc()
        if outcome.notifications:
            notified = ChildNotified(
                child_key=child_key(incident, outcome.child, outcome.record),
                incident=incident,
                person_reference=outcome.child.person_reference,
                record=outcome.record,
            )
            out.send_internal(ctx.name(topics.CHILD_HISTORY), notified.child_key, notified)
    watch_hours = ctx.policy.signals.no_notification_hours
    ctx.track(out, after_outcomes(incident, outcomes, now, watch_hours))


def _observe_latency(out: Outbox, published_at: datetime) -> None:
    # Wall time, even under a simulated clock: Kafka timestamps are wall time.
    stamp = published_at.timestamp()
    out.then(lambda: metrics.PROCESSING_LATENCY.observe(max(time.time() - stamp, 0)))


class Pending:
    """The ``pending`` table: incidents with children unmatched or under review, by
    incident key, kept for re-matching and for reviewers' decisions."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._table = ctx.tables.pending

    def load(self, key: str) -> PendingIncident | None:
        raw = self._table.get(key.encode())
        return PendingIncident.model_validate_json(raw) if raw else None

    def store(self, key: str, entry: PendingIncident | None) -> None:
        if entry is not None:
            self._table[key.encode()] = entry.model_dump_json().encode()
        elif self._table.get(key.encode()) is not None:
            del self._table[key.encode()]
        metrics.PENDING_INCIDENTS.set(len(self._table))

    def __iter__(self) -> Iterator[tuple[str, PendingIncident]]:
        """Every entry (a copy of the keys: safe to store meanwhile)."""
        for raw_key, raw in list(self._table.items()):
            yield raw_key.decode(), PendingIncident.model_validate_json(raw)
