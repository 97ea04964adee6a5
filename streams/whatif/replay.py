"""A period replayed under one policy with the worker's own core. Pure: no Kafka, no clock.

The worker routes an incident when it arrives (``route_matched``), resumes a child when a
reviewer's decision arrives (``apply_review_decision``) and escalates a child who keeps
coming to notice from the child's history (``remember``, ``escalation``). A replay does
the same, in the order things reached frontdoor, with the clock at each arrival. The
match is made once, outside, and shared by every policy replayed: it does not depend on
the policy.

Not replayed (said by the fidelity figures, never hidden): re-matching after a council
record arrived later (the replica is the records as they stand now), and incidents
before the period (a repeat escalation counts only the period's own history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas import Notification, PoliceIncident, ReviewDecision
from streams.incidents import (
    ChildNotified,
    ChildOutcome,
    PendingIncident,
    Seen,
    apply_review_decision,
    child_key,
    escalation,
    pending_after,
    remember,
    route_matched,
)
from streams.matching import MatchResult, Replica
from streams.routing import Policy


@dataclass(frozen=True)
class Arrival:
    """An incident as it reached frontdoor: ``at`` is its record's time on
    ``police.incidents.v1`` (the worker's clock for it)."""

    incident: PoliceIncident
    at: datetime
    published_at: datetime | None = None  # on the force's own topic


@dataclass(frozen=True)
class Decided:
    """A reviewer's decision as it reached frontdoor."""

    decision: ReviewDecision
    incident_key: str
    at: datetime


@dataclass(slots=True)
class Sent:
    """One notification id as the deadline tracker sees it, every version merged (rules
    united, the earliest deadline), first sent at ``first_sent``: ids and closed-list
    values only (a year of them is held in memory twice)."""

    notification_id: str
    police_source: str
    incident_reference: str
    person_reference: str
    agency: str
    organisation: str
    rules: set[str]
    deadline: datetime
    first_sent: datetime
    stages: set[str]

    @property
    def child(self) -> tuple[str, str, str]:
        return (self.police_source, self.incident_reference, self.person_reference)


@dataclass
class Replayed:
    """What one policy's replay sent, and how it decided each child."""

    sent: dict[str, Sent] = field(default_factory=dict)
    # each child's (decision, record id) when first routed
    matches: dict[tuple[str, str, str], tuple[str, str | None]] = field(default_factory=dict)
    incidents: int = 0
    reviews_applied: int = 0


class Replay:
    """One policy, replayed: feed it arrivals and decisions in the order they arrived."""

    def __init__(self, policy: Policy, replica: Replica) -> None:
        self.policy = policy
        self.calendar = policy.calendar()
        self.replica = replica
        self.result = Replayed()
        self._pending: dict[str, PendingIncident] = {}
        self._history: dict[str, list[Seen]] = {}

    def incident(self, arrival: Arrival, matched: list[MatchResult]) -> None:
        incident, now = arrival.incident, arrival.at
        outcomes = route_matched(
            incident,
            matched,
            self.replica,
            self.policy,
            self.calendar,
            now,
            arrival.published_at,
        )
        self.result.incidents += 1
        for outcome in outcomes:
            key = (incident.source, incident.incident_reference, outcome.child.person_reference)
            record = outcome.record.key if outcome.record is not None else None
            self.result.matches[key] = (outcome.decision.value, record)
        self._publish(incident, outcomes, now)
        held = self._pending.get(incident.key)
        left = pending_after(incident, outcomes, held.received_at if held else now)
        self._store(incident.key, left)

    def review(self, decided: Decided) -> None:
        entry = self._pending.get(decided.incident_key)
        if entry is None:
            return
        outcome, left, _ = apply_review_decision(
            entry, decided.decision, self.replica, self.policy, self.calendar, decided.at
        )
        if outcome is not None:
            self.result.reviews_applied += 1
            self._publish(entry.incident, [outcome], decided.at)
            self._store(decided.incident_key, left)

    def _store(self, key: str, entry: PendingIncident | None) -> None:
        if entry is None:
            self._pending.pop(key, None)
        else:
            self._pending[key] = entry

    def _publish(
        self, incident: PoliceIncident, outcomes: list[ChildOutcome], now: datetime
    ) -> None:
        for outcome in outcomes:
            for notification in outcome.notifications:
                self._sent(incident.source, notification, outcome.audit.stage, now)
            if outcome.notifications:
                notified = ChildNotified(
                    child_key=child_key(incident, outcome.child, outcome.record),
                    incident=incident,
                    person_reference=outcome.child.person_reference,
                    record=outcome.record,
                )
                self._remember(notified, now)

    def _remember(self, notified: ChildNotified, now: datetime) -> None:
        before = self._history.get(notified.child_key, [])
        kept = remember(before, notified, self.policy.repeat_rule, now)
        self._history[notified.child_key] = kept.history
        for due in kept.escalate:
            escalated = escalation(due, self.policy, self.calendar, now)
            self._sent(due.incident.source, escalated, "escalated", now)

    def _sent(self, source: str, notification: Notification, stage: str, now: datetime) -> None:
        held = self.result.sent.get(notification.notification_id)
        if held is None:
            self.result.sent[notification.notification_id] = Sent(
                notification.notification_id,
                source,
                notification.incident_reference,
                notification.person_reference,
                notification.recipient.agency.value,
                notification.recipient.organisation,
                set(notification.rules),
                notification.deadline,
                now,
                {stage},
            )
            return
        held.rules |= set(notification.rules)
        held.deadline = min(held.deadline, notification.deadline)
        held.stages.add(stage)
