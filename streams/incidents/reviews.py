"""What a possible match holds back, and whether settling it needs a second reviewer. Pure.

While a pair waits for a person, the front door is told and a school or an allocated
worker is not (``streams.routing.HELD_FOR_REVIEW``). Each way the pair could be settled
(confirm one candidate, or none of them) would tell some recipients the review has not:
those notifications wait on the decision, and the earliest of their deadlines is how
urgent the pair is. The worker asks the same question before it acts on a confirmation
(four eyes), and the console asks it to order its queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas import ChildRecord, InvolvedChild, PoliceIncident
from schemas.enums import MatchDecision
from streams.routing import HELD_FOR_REVIEW, Calendar, ChildContext, Policy, RuleHit, route


@dataclass(frozen=True)
class Held:
    """What one way of settling a pair would tell that the review has not: ``record_id``
    confirmed (None: none of the candidates), and the rule hits it would add."""

    record_id: str | None
    hits: tuple[RuleHit, ...]

    @property
    def earliest(self) -> datetime | None:
        return min((h.deadline for h in self.hits), default=None)

    @property
    def tells_school_or_worker(self) -> bool:
        return any(h.to in HELD_FOR_REVIEW for h in self.hits)


def held_back(
    incident: PoliceIncident,
    child: InvolvedChild,
    candidates: list[ChildRecord],
    policy: Policy,
    calendar: Calendar,
    now: datetime,
) -> list[Held]:
    """For each candidate record (in order), then for "none of these": the recipients that
    settling the pair that way would tell, beyond those the review already told."""

    def recipients(decision: MatchDecision, record: ChildRecord | None) -> list[RuleHit]:
        return route(ChildContext(incident, child, decision, record), policy, calendar, now)

    told = {h.recipient for h in recipients(MatchDecision.REVIEW, None)}
    ways: list[tuple[str | None, MatchDecision, ChildRecord | None]] = [
        (record.key, MatchDecision.AUTO, record) for record in candidates
    ]
    ways.append((None, MatchDecision.NONE, None))
    return [
        Held(key, tuple(h for h in recipients(decision, record) if h.recipient not in told))
        for key, decision, record in ways
    ]


def earliest_held(held: list[Held]) -> datetime | None:
    """The earliest deadline of any notification waiting on the pair (None: nothing waits)."""
    return min((d for h in held if (d := h.earliest) is not None), default=None)


def needs_second_reviewer(policy: Policy, held: Held) -> bool:
    """Four eyes: a confirmation that would tell a school or an allocated worker takes a
    second reviewer's approval, where the policy asks for it."""
    return policy.review_four_eyes and held.record_id is not None and held.tells_school_or_worker
