"""``police.incidents.v1``: validate, match then route, publish; keep waiting children.

An invalid incident is dead-lettered with its reasons (its sequence number still
counts); a valid one feeds the police-side signals, then the core decides each child
(``process_incident``) and ``publish`` writes what it decided. Children left unmatched
or under review wait in the ``pending`` table for a reviewer or a late council record.
"""

from __future__ import annotations

from datetime import datetime

from schemas import PoliceIncident
from streams import topics
from streams.incidents import pending_after, process_incident
from streams.worker import metrics
from streams.worker.agents.outcomes import Pending, publish
from streams.worker.agents.police import SIGNALLED, PoliceSignals
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox


class Incidents:
    def __init__(self, ctx: WorkerContext, police: PoliceSignals) -> None:
        self.ctx = ctx
        self.police = police
        self.pending = Pending(ctx)

    def incident_arrived(self, out: Outbox, event: Incoming, now: datetime) -> None:
        ctx = self.ctx
        incident = ctx.accept(out, event, PoliceIncident, topics.POLICE_INCIDENTS, now)
        signalled = SIGNALLED[0] in event.headers  # the intake judged them
        if incident is None:
            if not signalled:
                self.police.dead_lettered(out, event, now)
            return
        metrics.INCIDENTS_RECEIVED.labels(
            force=ctx.policy.signals.force_label(incident.source),
            incident_type=incident.incident_type.value,
        ).inc()
        metrics.CHILDREN_RECEIVED.inc(len(incident.children))
        for warning in incident.data_quality:
            metrics.DATA_QUALITY_WARNINGS.labels(code=warning.code.value).inc()
        published_at = event.published_at
        if not signalled:  # published here directly, not through a force's topic
            self.police.incident_seen(out, incident, now, published_at)
        outcomes = process_incident(
            incident, ctx.replica, ctx.policy, ctx.calendar, now, published_at
        )
        publish(ctx, out, incident, outcomes, now, published_at)
        stored = self.pending.load(incident.key)
        received_at = stored.received_at if stored else now
        self.pending.store(incident.key, pending_after(incident, outcomes, received_at))
