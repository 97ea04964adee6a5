"""Each party's own topic into frontdoor's: a force's incidents and an agency's
acknowledgements, forwarded unchanged once they are valid and speak for that party.

Provenance is the broker's to enforce (only police-MPS may write police.MPS.incidents.v1)
and the core's to check (``foreign_incident``); this agent only reads, checks and
forwards, keeping each record's key order and its publishing time. Invalid or foreign
events are dead-lettered here, against the party's own topic, where the party can see
them; an invalid incident's sequence number, when readable, still counts as arrived. A
force's incidents feed the police-side signals here, before they are matched and routed
(the forwarded record says so in a header, and the incidents agent leaves them be).
"""

from __future__ import annotations

from datetime import datetime

from schemas import Acknowledgement, PoliceIncident
from schemas.deadletter import DeadLetterReason
from schemas.enums import Agency
from streams import topics
from streams.incidents import dead_letter_for, foreign_acknowledgement, foreign_incident
from streams.worker.agents.police import SIGNALLED, PoliceSignals
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox


class Intake:
    def __init__(self, ctx: WorkerContext, police: PoliceSignals) -> None:
        self.ctx = ctx
        self.police = police
        self.forces = {
            ctx.name(topics.force_incidents(f)): f for f in ctx.policy.signals.police_sources
        }
        self.agencies = {ctx.name(topics.AGENCY_ACKS[a]): a for a in Agency}

    @property
    def force_topics(self) -> tuple[topics.TopicSpec, ...]:
        return tuple(topics.force_incidents(f) for f in self.forces.values())

    def incident_published(self, out: Outbox, event: Incoming, now: datetime) -> None:
        force = self.forces[event.topic]
        spec = topics.force_incidents(force)
        incident = self.ctx.accept(out, event, PoliceIncident, spec, now)
        if incident is None:  # its sequence number still arrived: not a gap
            self.police.dead_lettered(out, event, now, force)
            return
        reason = foreign_incident(incident, force)
        if reason is not None:
            self._refuse(out, spec, event, reason, now)
            return
        # The police-side signals here: a hop and the matching sooner than after the forward.
        self.police.incident_seen(out, incident, now, event.published_at)
        # Keyed by the incident itself: its reviews and re-matches are co-partitioned with it.
        self._forward(out, topics.POLICE_INCIDENTS, incident.key, event, SIGNALLED)

    def acknowledgement_published(self, out: Outbox, event: Incoming, now: datetime) -> None:
        agency = self.agencies[event.topic]
        spec = topics.AGENCY_ACKS[agency]
        ack = self.ctx.accept(out, event, Acknowledgement, spec, now)
        if ack is None:
            return
        reason = foreign_acknowledgement(ack, agency, recipient=None)
        if reason is not None:
            self._refuse(out, spec, event, reason, now)
            return
        self._forward(out, topics.ACKS, ack.notification_id, event)

    def _refuse(
        self,
        out: Outbox,
        spec: topics.TopicSpec,
        event: Incoming,
        reason: DeadLetterReason,
        now: datetime,
    ) -> None:
        """Dead-letter an event that speaks for another party than its topic's."""
        letter = dead_letter_for(event.value or b"", event.origin, now, "provenance", [reason])
        self.ctx.dead_letter(out, spec, event.key, letter)

    def _forward(
        self,
        out: Outbox,
        to: topics.TopicSpec,
        key: str,
        event: Incoming,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        stamp = int(event.timestamp * 1000) if event.timestamp is not None else None
        out.send(self.ctx.name(to), key, event.value or b"", timestamp_ms=stamp, headers=headers)
