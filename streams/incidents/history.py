"""Repeat escalation (R12): a child who keeps coming to notice. Pure.

Incidents about the same child can land on different partitions (they have different
incident keys), so each routed child is re-keyed by who the child is (``child_key``) on an
internal topic, and one worker keeps that child's recent history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas import ChildRecord, InvolvedChild, Notification, PoliceIncident
from schemas.enums import Agency, RiskGrade
from schemas.notification import Recipient
from streams.routing import Calendar, Policy, RuleHit, deadline_for, notifications


class Seen(BaseModel):
    """One incident in a child's history: no personal data, just what R12 counts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_key: str
    risk_grade: RiskGrade
    reported_at: datetime


class ChildNotified(BaseModel):
    """Internal event: this child was notified about in this incident."""

    model_config = ConfigDict(extra="forbid")

    child_key: str
    incident: PoliceIncident
    person_reference: str
    record: ChildRecord | None = None

    @property
    def seen(self) -> Seen:
        return Seen(
            incident_key=self.incident.key,
            risk_grade=self.incident.risk_grade,
            reported_at=self.incident.reported_at,
        )

    @property
    def child(self) -> InvolvedChild:
        return next(
            c for c in self.incident.children if c.person_reference == self.person_reference
        )


def remember(history: list[Seen], seen: Seen, keep_days: int) -> list[Seen]:
    """History with ``seen`` added once, oldest dropped past ``keep_days`` of the newest."""
    merged = {s.incident_key: s for s in history}
    merged.setdefault(seen.incident_key, seen)
    newest = max(s.reported_at for s in merged.values())
    cutoff = newest - timedelta(days=keep_days)
    return sorted(
        (s for s in merged.values() if s.reported_at >= cutoff), key=lambda s: s.reported_at
    )


def escalation(
    history: list[Seen], event: ChildNotified, policy: Policy, calendar: Calendar, now: datetime
) -> Notification | None:
    """The R12 notification for this incident, when it makes the count within the window."""
    rule = policy.repeat_rule
    if rule is None or not rule.enabled or event.incident.risk_grade not in rule.risk_grades:
        return None
    seen = event.seen
    window_start = seen.reported_at - timedelta(days=rule.within_days)
    counted = [
        s
        for s in history
        if s.risk_grade in rule.risk_grades and window_start <= s.reported_at <= seen.reported_at
    ]
    if len(counted) < rule.count:
        return None
    recipient = Recipient(
        agency=Agency(rule.notify.agency),
        organisation=f"{policy.council_code}:{rule.notify.service}"
        if rule.notify.service
        else f"{policy.council_code}:front-door",
    )
    hit = RuleHit(
        rule.id,
        recipient,
        deadline_for(rule.deadline, event.incident, calendar),
        rule.deadline.clock,
    )
    return notifications(event.incident, event.child, event.record, [hit], now)[0]
