"""The functional core of incident processing: match, route, dispatch, review, audit.

No Kafka and no clock: the Faust agents call these functions with the replica, the
policy, the calendar and ``now``, and write what comes back. Everything derived carries
a deterministic id, so processing the same input twice yields the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas import (
    AuditRecord,
    Candidate,
    ChildRecord,
    InvolvedChild,
    Notification,
    PoliceIncident,
    PossibleMatch,
    ReviewDecision,
)
from schemas.audit import AuditStage, ChildDecision, NotificationMade, ReviewAudit
from schemas.enums import MatchDecision
from schemas.envelope import FRONTDOOR_SOURCE, derived_id
from streams.incidents.reviews import held_back, needs_second_reviewer
from streams.matching import MatchResult, Replica
from streams.routing import Calendar, ChildContext, Policy, fields_shared, notifications, route

Stage = Literal["routed", "review_decided", "rematched"]
Waiting = Literal[MatchDecision.REVIEW, MatchDecision.NONE]


def child_key(incident: PoliceIncident, child: InvolvedChild, record: ChildRecord | None) -> str:
    """Who the child is, for history across incidents: the council record once known."""
    if record is not None:
        return f"council:{record.key}"
    return f"police:{incident.source}:{child.person_reference}"


def review_id(incident: PoliceIncident, child: InvolvedChild) -> str:
    return derived_id("rev", incident.source, incident.incident_reference, child.person_reference)


@dataclass
class ChildOutcome:
    child: InvolvedChild
    decision: MatchDecision
    record: ChildRecord | None
    notifications: list[Notification]
    audit: AuditRecord
    review: PossibleMatch | None = None
    candidates: list[Candidate] = field(default_factory=list)
    revision: int = 0  # of the notifications: one more at each later decision


def _candidates(result: MatchResult | None) -> list[Candidate]:
    """The matcher's candidates as published: scores to two decimals."""
    if result is None:
        return []
    return [c.model_copy(update={"score": round(c.score, 2)}) for c in result.candidates]


def decide(
    incident: PoliceIncident,
    child: InvolvedChild,
    decision: MatchDecision,
    record: ChildRecord | None,
    *,
    policy: Policy,
    calendar: Calendar,
    now: datetime,
    stage: Stage = "routed",
    match: MatchResult | None = None,
    reviewer: str | None = None,
    review_audit: ReviewAudit | None = None,
    published_at: datetime | None = None,
    revision: int = 0,
    model_version: str | None = None,
) -> ChildOutcome:
    """Route one child whose match decision is known and say what to send."""
    context = ChildContext(incident, child, decision, record)
    hits = route(context, policy, calendar, now)
    made = notifications(incident, child, record, hits, now, published_at, revision)
    candidates = _candidates(match)
    review = None
    if decision == MatchDecision.REVIEW:
        review = PossibleMatch(
            event_id=review_id(incident, child),
            source=FRONTDOOR_SOURCE,
            produced_at=now,
            review_id=review_id(incident, child),
            incident_reference=incident.incident_reference,
            police_source=incident.source,
            person_reference=child.person_reference,
            candidates=candidates,
            decide_by=now + timedelta(hours=policy.review_deadline_hours),
            why=list(match.reasons) if match is not None else [],
            model_version=model_version,
            gate=match.gate if match is not None else None,
        )
    audit = audit_record(
        incident,
        child.person_reference,
        stage,
        decision,
        record,
        made,
        now,
        candidates=candidates,
        rules_fired=sorted({h.rule for h in hits}),
        reviewer=reviewer,
        review=review_audit,
        match=match,
    )
    return ChildOutcome(child, decision, record, made, audit, review, candidates, revision)


def audit_record(
    incident: PoliceIncident,
    person_reference: str,
    stage: AuditStage,
    decision: MatchDecision | None,
    record: ChildRecord | None,
    made: list[Notification],
    now: datetime,
    *,
    candidates: list[Candidate] | None = None,
    rules_fired: list[str] | None = None,
    reviewer: str | None = None,
    review: ReviewAudit | None = None,
    match: MatchResult | None = None,
) -> AuditRecord:
    """Why frontdoor did what it did for one child: ids, scores, rules and field names."""
    return AuditRecord(
        event_id=derived_id("aud", stage, incident.source, incident.event_id, person_reference),
        source=FRONTDOOR_SOURCE,
        produced_at=now,
        audit_id=derived_id("aud", stage, incident.key, person_reference),
        stage=stage,
        incident_event_id=incident.event_id,
        incident_reference=incident.incident_reference,
        police_source=incident.source,
        incident_type=incident.incident_type,
        children_in_incident=len(incident.children),
        child=ChildDecision(
            person_reference=person_reference,
            decision=decision,
            record_id=record.key if record is not None else None,
            candidates=candidates or [],
            match_path=match.gate if match is not None else None,
            match_why=list(match.reasons)
            if match is not None and match.decision != MatchDecision.AUTO
            else [],
            rules_fired=rules_fired
            if rules_fired is not None
            else sorted({r for n in made for r in n.rules}),
            notifications=[
                NotificationMade(
                    notification_id=n.notification_id,
                    recipient=n.recipient,
                    rules=n.rules,
                    fields_shared=fields_shared(n.payload),
                )
                for n in made
            ],
        ),
        reviewer=reviewer,
        review=review,
        data_quality=incident.data_quality,
    )


def process_incident(
    incident: PoliceIncident,
    replica: Replica,
    policy: Policy,
    calendar: Calendar,
    now: datetime,
    published_at: datetime | None = None,
) -> list[ChildOutcome]:
    return [
        _decide_match(
            incident,
            child,
            replica.matcher.match(child),
            replica,
            policy,
            calendar,
            now,
            "routed",
            published_at,
        )
        for child in incident.children
    ]


def _decide_match(
    incident: PoliceIncident,
    child: InvolvedChild,
    result: MatchResult,
    replica: Replica,
    policy: Policy,
    calendar: Calendar,
    now: datetime,
    stage: Stage,
    published_at: datetime | None = None,
    revision: int = 0,
) -> ChildOutcome:
    """Route a child with what the matcher decided (and the record, when linked)."""
    record = replica.get(result.record_id) if result.record_id else None
    return decide(
        incident,
        child,
        result.decision,
        record,
        policy=policy,
        calendar=calendar,
        now=now,
        stage=stage,
        match=result,
        published_at=published_at,
        revision=revision,
        model_version=replica.matcher.model.version,
    )


# -- children still waiting: unmatched (for late records) or under review ---------------


class PendingChild(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_reference: str
    state: Waiting
    review_id: str | None = None
    revision: int = 0  # of what was last sent about this child


class PendingIncident(BaseModel):
    """What a worker keeps (in a changelog-backed table) about an incident not yet settled."""

    model_config = ConfigDict(extra="forbid")

    incident: PoliceIncident
    received_at: datetime
    children: list[PendingChild]

    def expired(self, now: datetime, window_hours: float) -> bool:
        return now - self.received_at > timedelta(hours=window_hours)

    def child(self, person_reference: str) -> InvolvedChild:
        return next(c for c in self.incident.children if c.person_reference == person_reference)


def pending_after(
    incident: PoliceIncident,
    outcomes: list[ChildOutcome],
    received_at: datetime,
    keep: list[PendingChild] | None = None,
) -> PendingIncident | None:
    """The pending entry to store for ``incident`` now, or None when every child is settled."""
    waiting = {p.person_reference: p for p in keep or []}
    for outcome in outcomes:
        ref = outcome.child.person_reference
        if outcome.decision == MatchDecision.AUTO:
            waiting.pop(ref, None)
        else:
            state: Waiting = (
                MatchDecision.REVIEW
                if outcome.decision == MatchDecision.REVIEW
                else MatchDecision.NONE
            )
            held = waiting.get(ref)
            rid = outcome.review.review_id if outcome.review else (held.review_id if held else None)
            waiting[ref] = PendingChild(
                person_reference=ref, state=state, review_id=rid, revision=outcome.revision
            )
    if not waiting:
        return None
    return PendingIncident(
        incident=incident, received_at=received_at, children=list(waiting.values())
    )


def apply_review_decision(
    pending: PendingIncident,
    decision: ReviewDecision,
    replica: Replica,
    policy: Policy,
    calendar: Calendar,
    now: datetime,
) -> tuple[ChildOutcome | None, PendingIncident | None, str]:
    """Resume routing after a person's decision: (outcome, pending left, what happened).

    What happened is one of a closed list: ``confirm``, ``reject``; or, leaving the pair
    waiting, ``propose`` and ``unsure`` (not final), ``four_eyes`` (a confirmation that
    would tell a school or an allocated worker, without a second reviewer's approval
    where the policy asks for one), ``already_settled``, ``record_gone``.
    """
    waiting = next((p for p in pending.children if p.review_id == decision.review_id), None)
    if waiting is None:
        return None, pending, "already_settled"
    if not decision.final:
        return None, pending, decision.decision
    record = None
    child = pending.child(waiting.person_reference)
    if decision.decision == "confirm":
        record = replica.get(decision.record_id or "")
        if record is None:
            return None, pending, "record_gone"
        (held,) = held_back(pending.incident, child, [record], policy, calendar, now)[:1]
        if decision.approved_by is None and needs_second_reviewer(policy, held):
            return None, pending, "four_eyes"
    outcome = decide(
        pending.incident,
        child,
        MatchDecision.AUTO if record is not None else MatchDecision.NONE,
        record,
        policy=policy,
        calendar=calendar,
        now=now,
        stage="review_decided",
        reviewer=decision.decided_by,
        review_audit=ReviewAudit(
            review_id=decision.review_id,
            decision=decision.decision,  # final here: confirm or reject
            decided_by=decision.decided_by,
            approved_by=decision.approved_by,
            decided_at=decision.decided_at,
            evidence=decision.evidence,
        ),
        revision=waiting.revision + 1,
    )
    rest = [p for p in pending.children if p is not waiting]
    left = pending.model_copy(update={"children": rest}) if rest else None
    return outcome, left, decision.decision


def rematch(
    pending: PendingIncident,
    replica: Replica,
    policy: Policy,
    calendar: Calendar,
    now: datetime,
) -> tuple[list[ChildOutcome], PendingIncident | None]:
    """Match the waiting children again after a council record arrived or changed.

    A child now matched automatically is routed with the record (same notification ids
    as before for recipients already told, at the next revision); a child who now has a
    possible match goes to review; anything else stays as it was.
    """
    outcomes = []
    for waiting in pending.children:
        child = pending.child(waiting.person_reference)
        result = replica.matcher.match(child)
        becomes_review = (
            result.decision == MatchDecision.REVIEW and waiting.state == MatchDecision.NONE
        )
        if result.decision == MatchDecision.AUTO or becomes_review:
            outcomes.append(
                _decide_match(
                    pending.incident,
                    child,
                    result,
                    replica,
                    policy,
                    calendar,
                    now,
                    "rematched",
                    revision=waiting.revision + 1,
                )
            )
    left = pending_after(pending.incident, outcomes, pending.received_at, pending.children)
    return outcomes, left
