"""Repeat escalation (R12): a child who keeps coming to notice. Pure.

Incidents about the same child can land on different partitions (they have different
incident keys), so each routed child is re-keyed by who the child is (``child_key``) on an
internal topic, and one worker keeps that child's recent history.

The forces' topics have no order between them, and a late report, a batching force, a
backlog or a fail-over all reorder a child's incidents; R12 must not care. An incident
escalates when the incidents reported in the window ending at its own report reach the
count, whichever order they arrived in: so each arrival may complete the count for an
incident reported *after* it that arrived earlier. Such an incident waits in the history
with what its escalation needs (``Seen.waiting``) until it escalates or can no longer.
The same incidents in any order give the same escalations, with the same ids.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas import ChildRecord, InvolvedChild, Notification, PoliceIncident
from schemas.enums import Agency, RiskGrade
from schemas.notification import Recipient
from streams.routing import Calendar, Policy, RepeatRule, RuleHit, deadline_for, notifications


class ChildNotified(BaseModel):
    """Internal event: this child was notified about in this incident."""

    model_config = ConfigDict(extra="forbid")

    child_key: str
    incident: PoliceIncident
    person_reference: str
    record: ChildRecord | None = None

    @property
    def child(self) -> InvolvedChild:
        return next(
            c for c in self.incident.children if c.person_reference == self.person_reference
        )


class Seen(BaseModel):
    """One incident in a child's history: what R12 counts, and, while this incident may
    still escalate when an earlier-reported one arrives late, what its escalation needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_key: str
    risk_grade: RiskGrade
    reported_at: datetime
    escalated: bool = False
    waiting: ChildNotified | None = None


@dataclass(frozen=True)
class Remembered:
    """A child's history after an arrival, and the incidents that escalate now (in the
    order they were reported)."""

    history: list[Seen]
    escalate: list[ChildNotified]


def remember(
    history: list[Seen], arrived: ChildNotified, rule: RepeatRule | None, now: datetime
) -> Remembered:
    """Add ``arrived`` to the child's history once (a replay or a rematch of an incident
    already counted changes nothing: the same history is returned) and find every
    incident that now makes the count.

    What is kept: every incident reported within twice the window of the child's newest
    (so any arrival reported within a window of the newest finds all it counts, and all
    it completes); what a waiting incident needs, only while it is reported within twice
    the window of ``now`` (personal data is not kept longer than R12 can use it)."""
    if any(s.incident_key == arrived.incident.key for s in history):
        return Remembered(history, [])
    incident = arrived.incident
    counts = rule is not None and rule.enabled and incident.risk_grade in rule.risk_grades
    entry = Seen(
        incident_key=incident.key,
        risk_grade=incident.risk_grade,
        reported_at=incident.reported_at,
        waiting=arrived if counts else None,
    )
    merged = sorted([*history, entry], key=_order)
    window = timedelta(days=rule.within_days if rule is not None else 1)
    if rule is None or not rule.enabled:
        return Remembered(_kept(merged, 2 * window, now), [])
    escalate: list[ChildNotified] = []
    settled: list[Seen] = []
    # The window ending at each incident's report is a slice of ``merged`` (in report
    # order, ties by key) ending at it: counted with prefix sums and one bisection.
    counting = [0]
    for seen in merged:
        counting.append(counting[-1] + (seen.risk_grade in rule.risk_grades))
    reported = [seen.reported_at for seen in merged]
    for i, seen in enumerate(merged):
        if (
            seen.waiting is not None
            and not seen.escalated
            and _made(i, counting, reported, rule, window)
        ):
            escalate.append(seen.waiting)
            seen = _forget(seen).model_copy(update={"escalated": True})
        settled.append(seen)
    return Remembered(_kept(settled, 2 * window, now), escalate)


def _made(
    i: int, counting: list[int], reported: list[datetime], rule: RepeatRule, window: timedelta
) -> bool:
    """Whether the incidents reported in the window ending at the ``i``th one's report
    reach the count (itself among them). Incidents reported at the same instant are taken
    in the order of their keys, so only the last of them makes the count: one
    escalation, whichever arrived last."""
    first = bisect_left(reported, reported[i] - window)
    return counting[i + 1] - counting[first] >= rule.count


def _order(seen: Seen) -> tuple[datetime, str]:
    return seen.reported_at, seen.incident_key


def _kept(history: list[Seen], keep: timedelta, now: datetime) -> list[Seen]:
    newest = max(s.reported_at for s in history)
    return [
        s if s.waiting is None or s.reported_at >= now - keep else _forget(s)
        for s in history
        if s.reported_at >= newest - keep
    ]


def _forget(seen: Seen) -> Seen:
    """Without what its escalation would need (personal data)."""
    return seen.model_copy(update={"waiting": None})


def escalation(
    event: ChildNotified, policy: Policy, calendar: Calendar, now: datetime
) -> Notification:
    """The R12 notification for an incident that made the count: the same id whenever
    and in whichever order its history arrived."""
    rule = policy.repeat_rule
    if rule is None:
        raise ValueError("the policy has no repeat rule: nothing escalates")
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
