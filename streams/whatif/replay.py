"""A period replayed under one policy with the worker's own core. Pure: no Kafka, no clock.

The worker routes an incident when it arrives (``route``, one notification per
recipient: ``addressed``), resumes a child when a reviewer's decision arrives
(``apply_review_decision``) and escalates a child who keeps coming to notice from the
child's history (``remember``, ``escalation``). A replay does the same, in the order
things reached frontdoor, with the clock at each arrival. The match is made once,
outside, and shared by every policy replayed: it does not depend on the policy. Routing
an incident (``plan``) needs nothing from the incidents before it and may run in
parallel; what does (``Replay.apply``) runs in order.

Not replayed (said by the fidelity figures, never hidden): re-matching after a council
record arrived later (the replica is the records as they stand now), and incidents
before the period (a repeat escalation counts only the period's own history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import Notification, PoliceIncident, ReviewDecision
from schemas.enums import MatchDecision
from streams.incidents import (
    ChildNotified,
    PendingChild,
    PendingIncident,
    Seen,
    apply_review_decision,
    child_key,
    escalation,
    remember,
    review_id,
)
from streams.matching import MatchResult, Replica
from streams.routing import Addressed, Calendar, ChildContext, Policy, addressed, route


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

    def packed(self) -> tuple[Any, ...]:
        """As plain tuples, to cross a process boundary (a dataclass pickles ten times
        slower: each one asks ``dataclasses.fields``)."""
        return pack(self.sent), self.matches, self.incidents, self.reviews_applied

    @classmethod
    def unpacked(cls, packed: tuple[Any, ...]) -> Replayed:
        sent, matches, incidents, reviews = packed
        return cls(unpack(sent), matches, incidents, reviews)


def pack(sent: dict[str, Sent]) -> list[tuple[Any, ...]]:
    """Notifications as plain tuples, to cross a process boundary."""
    return [
        (
            s.notification_id,
            s.police_source,
            s.incident_reference,
            s.person_reference,
            s.agency,
            s.organisation,
            tuple(s.rules),
            s.deadline,
            s.first_sent,
            tuple(s.stages),
        )
        for s in sent.values()
    ]


def unpack(rows: list[tuple[Any, ...]]) -> dict[str, Sent]:
    return {
        nid: Sent(nid, src, ref, person, agency, org, set(rules), due, first, set(stages))
        for nid, src, ref, person, agency, org, rules, due, first, stages in rows
    }


@dataclass(frozen=True, slots=True)
class PlannedChild:
    """One child of an incident under one policy: how it matched and who is told."""

    decision: MatchDecision
    record_id: str | None
    told: tuple[Addressed, ...]


Planned = tuple[PlannedChild, ...]  # in the order of the incident's children


def plan(
    incident: PoliceIncident,
    matched: list[MatchResult],
    replica: Replica,
    policy: Policy,
    calendar: Calendar,
    now: datetime,
) -> Planned:
    """Route each child as the worker does (``route``, then one notification per
    recipient: ``addressed``), without building what a notification carries: who is told
    and by when does not depend on it. Needs nothing from earlier incidents, so it may
    run anywhere (in parallel); ``Replay.apply`` then does what does."""
    planned = []
    for child, result in zip(incident.children, matched, strict=True):
        record = replica.get(result.record_id) if result.record_id else None
        hits = route(ChildContext(incident, child, result.decision, record), policy, calendar, now)
        planned.append(
            PlannedChild(result.decision, result.record_id, tuple(addressed(incident, child, hits)))
        )
    return tuple(planned)


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
        """Route an incident whose children are matched (``matched``, in order)."""
        incident = arrival.incident
        self.apply(
            arrival, plan(incident, matched, self.replica, self.policy, self.calendar, arrival.at)
        )

    def apply(self, arrival: Arrival, planned: Planned) -> None:
        """What depends on what came before: the child's history (R12) and the children
        who wait for a reviewer."""
        incident, now = arrival.incident, arrival.at
        self.result.incidents += 1
        waiting = []
        for child, routed in zip(incident.children, planned, strict=True):
            key = (incident.source, incident.incident_reference, child.person_reference)
            self.result.matches[key] = (routed.decision.value, routed.record_id)
            for told in routed.told:
                self._told(incident.source, incident, child.person_reference, told, "routed", now)
            record = self.replica.get(routed.record_id) if routed.record_id else None
            if routed.told:
                self._remember(
                    ChildNotified(
                        child_key=child_key(incident, child, record),
                        incident=incident,
                        person_reference=child.person_reference,
                        record=record,
                    ),
                    now,
                )
            if routed.decision == MatchDecision.REVIEW:
                waiting.append(
                    PendingChild(
                        person_reference=child.person_reference,
                        state=MatchDecision.REVIEW,
                        review_id=review_id(incident, child),
                    )
                )
        held = self._pending.get(incident.key)
        if waiting or held is not None:
            kept = {p.person_reference: p for p in held.children} if held else {}
            kept.update({p.person_reference: p for p in waiting})
            self._pending[incident.key] = PendingIncident(
                incident=incident,
                received_at=held.received_at if held else now,
                children=list(kept.values()),
            )

    def review(self, decided: Decided) -> None:
        entry = self._pending.get(decided.incident_key)
        if entry is None:
            return
        outcome, left, _ = apply_review_decision(
            entry, decided.decision, self.replica, self.policy, self.calendar, decided.at
        )
        if outcome is None:
            return
        self.result.reviews_applied += 1
        incident = entry.incident
        for notification in outcome.notifications:
            self._sent(incident.source, notification, "review_decided", decided.at)
        if outcome.notifications:
            self._remember(
                ChildNotified(
                    child_key=child_key(incident, outcome.child, outcome.record),
                    incident=incident,
                    person_reference=outcome.child.person_reference,
                    record=outcome.record,
                ),
                decided.at,
            )
        if left is None:
            self._pending.pop(decided.incident_key, None)
        else:
            self._pending[decided.incident_key] = left

    def _remember(self, notified: ChildNotified, now: datetime) -> None:
        before = self._history.get(notified.child_key, [])
        kept = remember(before, notified, self.policy.repeat_rule, now)
        self._history[notified.child_key] = kept.history
        for due in kept.escalate:
            escalated = escalation(due, self.policy, self.calendar, now)
            self._sent(due.incident.source, escalated, "escalated", now)

    def _sent(self, source: str, notification: Notification, stage: str, now: datetime) -> None:
        told = Addressed(
            notification.notification_id,
            notification.recipient,
            tuple(notification.rules),
            notification.deadline,
            notification.deadline_clock,
        )
        self._told(source, notification, notification.person_reference, told, stage, now)

    def _told(
        self,
        source: str,
        about: PoliceIncident | Notification,
        person_reference: str,
        told: Addressed,
        stage: str,
        now: datetime,
    ) -> None:
        held = self.result.sent.get(told.notification_id)
        if held is None:
            self.result.sent[told.notification_id] = Sent(
                told.notification_id,
                source,
                about.incident_reference,
                person_reference,
                told.recipient.agency.value,
                told.recipient.organisation,
                set(told.rules),
                told.deadline,
                now,
                {stage},
            )
            return
        held.rules.update(told.rules)
        held.deadline = min(held.deadline, told.deadline)
        held.stages.add(stage)
