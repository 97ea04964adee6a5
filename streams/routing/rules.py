"""Which agencies must hear about one child in one incident, and by when. Pure.

The rules are data (``streams.routing.policy``); this module evaluates them for a child whose
match decision is known, resolves each recipient to an organisation, and computes the
deadline from the incident's ``reported_at`` with the council's calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from schemas import ChildRecord, InvolvedChild, PoliceIncident
from schemas.enums import Agency, DeadlineClock, MatchDecision, RiskGrade
from schemas.notification import Recipient
from streams.routing.calendars import Calendar
from streams.routing.policy import Condition, DeadlineSpec, Policy, RecipientSpec

# Recipients that must never be told on a match a person has not confirmed.
HELD_FOR_REVIEW = frozenset({"school", "allocated"})


@dataclass(frozen=True)
class ChildContext:
    """What the rules may look at: the incident, the child, and what matching decided."""

    incident: PoliceIncident
    child: InvolvedChild
    decision: MatchDecision  # AUTO also when a reviewer confirmed the record
    record: ChildRecord | None = None

    @property
    def date_of_birth(self) -> date | None:
        if self.record is not None and self.record.date_of_birth is not None:
            return self.record.date_of_birth
        return self.child.date_of_birth

    @cached_property
    def age(self) -> int | None:
        born = self.date_of_birth
        if born is None:
            return None
        on = self.incident.occurred_at.date()
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    @property
    def school_urn(self) -> str | None:
        # The council's education record is authoritative once the child is identified.
        if self.record is not None and self.record.school_urn:
            return self.record.school_urn
        return self.child.school_urn


@dataclass(frozen=True)
class RuleHit:
    rule: str
    recipient: Recipient
    deadline: datetime
    clock: DeadlineClock
    to: str = ""  # the recipient as the policy names it: school, allocated, front_door, ...


def _holds(cond: Condition, ctx: ChildContext, policy: Policy) -> bool:
    """Every field the condition sets holds; the first that does not ends the check (a
    policy has some twenty conditions, each child is checked against all of them)."""
    incident, child = ctx.incident, ctx.child
    if cond.incident_types is not None and incident.incident_type not in cond.incident_types:
        return False
    if cond.risk_grades is not None and incident.risk_grade not in cond.risk_grades:
        return False
    if cond.roles is not None and child.role not in cond.roles:
        return False
    if cond.match is not None and ctx.decision not in cond.match:
        return False
    if cond.min_age is not None or cond.max_age is not None or cond.age_known is not None:
        age = ctx.age
        if cond.min_age is not None and (age is None or age < cond.min_age):
            return False
        if cond.max_age is not None and (age is None or age > cond.max_age):
            return False
        if cond.age_known is not None and (age is not None) != cond.age_known:
            return False
    if cond.statuses is not None and (ctx.record is None or ctx.record.status not in cond.statuses):
        return False
    if cond.school_known is not None and (ctx.school_urn is not None) != cond.school_known:
        return False
    if (
        cond.school_in_council is not None
        and _school_in_council(ctx, policy) != cond.school_in_council
    ):
        return False
    if cond.home_educated is not None and child.home_educated != cond.home_educated:
        return False
    if (
        cond.lives_in_other_council is not None
        and _lives_elsewhere(ctx, policy) != cond.lives_in_other_council
    ):
        return False
    if cond.flags is not None and not any(getattr(incident, flag) for flag in cond.flags):
        return False
    return cond.any_of is None or any(_holds(c, ctx, policy) for c in cond.any_of)


def _school_in_council(ctx: ChildContext, policy: Policy) -> bool:
    urn = ctx.school_urn
    return urn is not None and (policy.schools is None or urn in policy.schools)


def _lives_elsewhere(ctx: ChildContext, policy: Policy) -> bool:
    home = ctx.child.home_council
    return home is not None and home != policy.council_code


def _organisation(
    spec: RecipientSpec, ctx: ChildContext, policy: Policy, calendar: Calendar, now: datetime
) -> str | None:
    council = policy.council_code
    match spec.to:
        case "front_door":
            return f"{council}:front-door"
        case "front_door_or_edt":
            in_hours = calendar.is_office_hours(now)
            return f"{council}:front-door" if in_hours else f"{council}:emergency-duty-team"
        case "allocated":
            record = ctx.record
            if record is None:
                return None
            if record.allocated_worker:
                return f"{record.council_code}:worker:{record.allocated_worker}"
            if record.allocated_team:
                return f"{record.council_code}:team:{record.allocated_team}"
            return f"{record.council_code}:front-door"
        case "school":
            return f"urn:{ctx.school_urn}" if ctx.school_urn else None
        case "home_council":
            return f"{ctx.child.home_council or council}:front-door"
        case _:
            return f"{council}:{spec.service}"


def deadline_for(spec: DeadlineSpec, incident: PoliceIncident, calendar: Calendar) -> datetime:
    start = incident.reported_at
    if spec.clock is DeadlineClock.SCHOOL_DAY:
        return calendar.next_school_day_start(start)
    amount = spec.amount or 0
    if spec.high_risk_amount is not None and incident.risk_grade is RiskGrade.HIGH:
        amount = spec.high_risk_amount
    if spec.clock is DeadlineClock.HOURS:
        return calendar.hours(start, amount)
    return calendar.working_days(start, int(amount))


def route(ctx: ChildContext, policy: Policy, calendar: Calendar, now: datetime) -> list[RuleHit]:
    """Every (rule, recipient, deadline) that applies; nothing for a school or an allocated
    worker while the match awaits a person's review."""
    hits: list[RuleHit] = []
    for rule in policy.rules:
        if not _holds(rule.when, ctx, policy):
            continue
        due = deadline_for(rule.deadline, ctx.incident, calendar)
        for spec in rule.notify:
            if spec.when is not None and not _holds(spec.when, ctx, policy):
                continue
            if ctx.decision == MatchDecision.REVIEW and spec.to in HELD_FOR_REVIEW:
                continue
            organisation = _organisation(spec, ctx, policy, calendar, now)
            if organisation is None:
                continue
            hits.append(
                RuleHit(
                    rule.id,
                    Recipient(agency=spec.agency, organisation=organisation),
                    due,
                    rule.deadline.clock,
                    spec.to,
                )
            )
    if policy.home_council_rule.enabled and _lives_elsewhere(ctx, policy):
        ours = [h for h in hits if h.recipient.agency is Agency.SOCIAL_CARE]
        if ours:
            first = min(ours, key=lambda h: h.deadline)
            home = Recipient(
                agency=Agency.SOCIAL_CARE, organisation=f"{ctx.child.home_council}:front-door"
            )
            hits.append(
                RuleHit(
                    policy.home_council_rule.id, home, first.deadline, first.clock, "home_council"
                )
            )
    return hits
