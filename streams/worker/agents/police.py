"""Police-side signals: late reports, late to frontdoor, batching, and each force's
sequence numbers.

Every incident's sequence number (a dead-lettered one's too, when readable) and, for a
valid one, when it happened and when it arrived, are re-keyed by force onto
``frontdoor.sequences.v2``, so one worker sees all of a force's incidents however many
workers and partitions took them in, and keeps its gaps and its recent arrivals
(batching) in the ``sequences`` table; a timer asks for a check when a gap has stayed
open past the policy's window. Every time here is the bus's (when the incident reached
the force's topic), so a worker's backlog or restart moves no window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas import PoliceIncident
from streams import topics
from streams.compliance import (
    SequenceObserved,
    SourceSequence,
    arrival_delay,
    arrival_time,
    gaps_due,
    late_report,
    late_to_frontdoor,
    observe,
    observe_arrival,
    overdue_gaps,
    read_up_to,
    report_delay,
    sequence_of,
)
from streams.topics import SequencesObserved
from streams.worker import metrics
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox

# On an incident the intake forwarded: its police-side signals are already judged.
SIGNALLED = (("frontdoor-police-signals", b"intake"),)


class PoliceSignals:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        signals = ctx.policy.signals
        self.window = timedelta(minutes=signals.sequence_gap_minutes)
        self.batching_window = timedelta(minutes=signals.batching_window_minutes)
        self.stale_after = timedelta(hours=signals.batching_stale_hours)

    # -- called by the incidents agent
    def incident_seen(
        self,
        out: Outbox,
        incident: PoliceIncident,
        now: datetime,
        published_at: datetime | None = None,
    ) -> None:
        ctx, signals = self.ctx, self.ctx.policy.signals
        force = signals.force_label(incident.source)
        metrics.REPORT_DELAY.labels(force=force).observe(
            max(report_delay(incident).total_seconds(), 0)
        )
        limit = timedelta(hours=signals.late_report_limit(incident.incident_type))
        late = late_report(incident, limit, now)
        if late is not None:
            metrics.LATE_REPORTS.labels(
                force=force, incident_type=incident.incident_type.value
            ).inc()
            ctx.raise_alerts(out, [late])
        arrived = arrival_time(incident, published_at, now)
        metrics.ARRIVAL_DELAY.labels(force=force).observe(
            max(arrival_delay(incident, arrived).total_seconds(), 0)
        )
        limit = timedelta(hours=signals.late_to_frontdoor_limit(incident.source))
        held_back = late_to_frontdoor(incident, arrived, limit, now)
        if held_back is not None:
            metrics.LATE_TO_FRONTDOOR.labels(force=force).inc()
            ctx.raise_alerts(out, [held_back])
        seen = SequenceObserved(
            source=incident.source,
            sequence=incident.sequence,
            occurred_at=incident.occurred_at,
            arrived=arrived,
        )
        self._sequence(out, seen)

    def dead_lettered(
        self, out: Outbox, event: Incoming, now: datetime, force: str | None = None
    ) -> None:
        """A dead-lettered incident still arrived (when the bus says, if plausible): its
        sequence number counts if readable (and, from a force's own topic, if it names
        that force)."""
        seen = sequence_of(event.value)
        if seen is not None and force in (None, seen.source):
            published = event.published_at
            arrived = published if published is not None and published <= now else now
            self._sequence(out, seen.model_copy(update={"arrived": arrived}))

    def _sequence(self, out: Outbox, seen: SequenceObserved) -> None:
        out.send_internal(self.ctx.name(topics.SEQUENCES), seen.source, seen)

    # -- frontdoor.sequences.v2
    def sequences_observed(self, out: Outbox, event: Incoming, now: datetime) -> None:
        """Each force's numbers and arrivals in this batch, applied to its state read and
        written once (a burst's state is not small)."""
        ctx = self.ctx
        table = ctx.tables.sequences
        by_force: dict[str, list[SequenceObserved]] = {}
        for seen in SequencesObserved.model_validate_json(event.value or b"").items:
            by_force.setdefault(seen.source, []).append(seen)
        for source, seen_here in by_force.items():
            key = source.encode()
            raw = table.get(key)
            state = SourceSequence.model_validate_json(raw) if raw else None
            for seen in seen_here:
                state = self._observe(out, state, seen, now)
            if state is None:
                continue
            state, alerts = overdue_gaps(state, self.window, now)
            table[key] = state.model_dump_json().encode()
            force = ctx.policy.signals.force_label(source)
            for alert in alerts:
                metrics.SEQUENCE_GAPS.labels(force=force).inc()
                span = (alert.subject.sequence_to or 0) - (alert.subject.sequence_from or 0) + 1
                metrics.SEQUENCE_MISSING.labels(force=force).inc(span)
            ctx.raise_alerts(out, alerts)

    def _observe(
        self, out: Outbox, state: SourceSequence | None, seen: SequenceObserved, now: datetime
    ) -> SourceSequence | None:
        if seen.sequence is not None:
            # On the bus's clock: a gap opens when the number after it reached the bus, not
            # when a worker, behind or restarted, happened to read it.
            at = seen.arrived or now
            state = read_up_to(observe(state, seen.source, seen.sequence, at, self.window), at, now)
        if state is None or seen.occurred_at is None or seen.arrived is None:
            return state
        signals = self.ctx.policy.signals
        state, burst = observe_arrival(
            state,
            seen.occurred_at,
            seen.arrived,
            self.batching_window,
            signals.batching_min_events,
            self.stale_after,
            now,
        )
        if burst is not None:
            metrics.BATCHING.labels(force=signals.force_label(seen.source)).inc()
            self.ctx.raise_alerts(out, [burst])
        return state

    async def scan_sequences(self) -> None:
        """Ask the force's owner to check every gap that has been open past the window."""
        ctx = self.ctx
        now = ctx.clock()
        out = ctx.outbox()
        for raw in list(ctx.tables.sequences.values()):
            if b'"gaps":[]' in raw:  # no gap at all: skip parsing (a burst's arrivals) each second
                continue
            state = SourceSequence.model_validate_json(raw)
            if gaps_due(state, self.window, now):
                self._sequence(out, SequenceObserved(source=state.source))
        await ctx.flush(out)
