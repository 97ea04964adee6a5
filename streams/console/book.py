"""What the review console holds: every possible match and what was decided about it, the
incidents they come from, and the council's records (with the match index, for the
evidence), followed from the topics. No I/O here: the follower feeds it, the pages read it,
and every method that needs the time is given it.

A pair's urgency is what it holds back (``streams.incidents.held_back``): the earliest
deadline of the notifications that settling it would send. That needs the incident and
the candidate records, which may arrive in any order, so it is worked out when the page
asks and kept until one of them changes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from schemas import ChildRecord, InvolvedChild, PoliceIncident, PossibleMatch, ReviewDecision
from streams.incidents import Held, earliest_held, held_back
from streams.matching import Matcher, MatchModel, Replica, same_household
from streams.routing import Calendar, Policy

State = Literal["open", "unsure", "awaiting_approval", "settled"]


@dataclass
class Pair:
    """One possible match: the matcher's shortlist for one police-side child."""

    key: str  # <force>:<incident reference>: where its decisions are published
    match: PossibleMatch
    decisions: list[ReviewDecision] = field(default_factory=list)
    held: list[Held] | None = None  # per candidate, then "none of these"; None: not yet known
    earliest: datetime | None = None  # the earliest deadline in ``held`` (kept with it)
    stale: bool = True  # held must be worked out again
    four_eyes: bool = False  # the policy's review_four_eyes

    @property
    def review_id(self) -> str:
        return self.match.review_id

    @property
    def candidate_ids(self) -> list[str]:
        return [c.record_id for c in self.match.candidates]

    def settles(self, decision: ReviewDecision) -> bool:
        """Whether the worker acts on ``decision`` (as ``apply_review_decision`` does): a
        rejection; a confirmation approved by a second reviewer, or that needs none (no
        four eyes, or it tells no school or allocated worker). A confirmation that needs
        approval and names none (another tool's) waits like a proposal; while what it
        would tell is not known yet, it waits too."""
        if decision.decision == "reject":
            return True
        if decision.decision != "confirm":
            return False
        if decision.approved_by is not None or not self.four_eyes:
            return True
        held = next((h for h in self.held or [] if h.record_id == decision.record_id), None)
        return held is not None and not held.tells_school_or_worker

    @property
    def surely_settled(self) -> bool:
        """Settled whatever the pair holds back (no need to work that out to know)."""
        return any(
            d.decision == "reject"
            or (d.decision == "confirm" and (d.approved_by or not self.four_eyes))
            for d in self.decisions
        )

    @property
    def settled_by(self) -> ReviewDecision | None:
        return next((d for d in self.decisions if self.settles(d)), None)

    @property
    def latest(self) -> ReviewDecision | None:
        """The last decision that did not settle the pair (unsure, or a proposal)."""
        pending = [d for d in self.decisions if not self.settles(d)]
        return pending[-1] if pending else None

    @property
    def state(self) -> State:
        if self.settled_by is not None:
            return "settled"
        latest = self.latest
        if latest is None:
            return "open"
        return "awaiting_approval" if latest.decision in ("propose", "confirm") else "unsure"

    def due(self) -> datetime:
        """When the pair is due: the earliest deadline it holds back, else the review's own."""
        earliest = self.earliest
        return earliest if earliest is not None else self.match.decide_by

    def urgency(self) -> tuple[bool, datetime, datetime, str]:
        """What orders the queue: pairs that hold notifications back first, by the earliest
        of those deadlines; then by the review's own deadline (and then by id)."""
        earliest = self.earliest
        held = earliest is not None
        return (not held, earliest or self.match.decide_by, self.match.decide_by, self.review_id)


class ReviewBook:
    """Possible matches, decisions, incidents and records, as the topics have them."""

    def __init__(self, policy: Policy, model: MatchModel | None = None) -> None:
        self.policy = policy
        self.calendar: Calendar = policy.calendar()
        self.replica = Replica(matcher=Matcher(model=model))
        self.pairs: dict[str, Pair] = {}
        self.incidents: dict[str, PoliceIncident] = {}
        self._incident_seen: dict[str, datetime] = {}
        self._pairs_of_incident: dict[str, set[str]] = {}
        self._pairs_citing: dict[str, set[str]] = {}  # record id -> review ids
        self._early: dict[str, list[ReviewDecision]] = {}  # decisions read before their pair
        self._household: dict[str, set[str]] = {}  # household id -> record ids
        self._postcode: dict[str, set[str]] = {}  # postcode -> record ids
        self._stale: set[str] = set()  # review ids whose held must be worked out again

    # -- fed by the follower ------------------------------------------------------------
    def possible_match(self, key: str, match: PossibleMatch) -> None:
        held = self.pairs.get(match.review_id)
        if held is not None and match.produced_at < held.match.produced_at:
            return  # an older raise of the same pair
        pair = Pair(
            key,
            match,
            decisions=held.decisions if held else [],
            four_eyes=self.policy.review_four_eyes,
        )
        pair.decisions += self._early.pop(match.review_id, [])
        if held is not None:
            for record_id in held.candidate_ids:
                self._pairs_citing.get(record_id, set()).discard(match.review_id)
        self.pairs[match.review_id] = pair
        self._stale.add(match.review_id)
        self._pairs_of_incident.setdefault(key, set()).add(match.review_id)
        for record_id in pair.candidate_ids:
            self._pairs_citing.setdefault(record_id, set()).add(match.review_id)

    def decision(self, decision: ReviewDecision) -> None:
        pair = self.pairs.get(decision.review_id)
        decisions = (
            pair.decisions if pair is not None else self._early.setdefault(decision.review_id, [])
        )
        if any(d.event_id == decision.event_id for d in decisions):
            return  # read again (the console applies its own at once, then reads it back)
        decisions.append(decision)

    def incident(self, key: str, incident: PoliceIncident, now: datetime) -> None:
        self.incidents[key] = incident
        self._incident_seen[key] = now
        for review_id in self._pairs_of_incident.get(key, ()):
            self._mark_stale(review_id)

    def record(self, key: str, record: ChildRecord | None) -> None:
        before = self.replica.get(key)
        if before is not None:
            self._unindex(before)
        if record is None:
            self.replica.delete(key)
        elif not self.replica.upsert(record):
            if before is not None:
                self._index(before)
            return
        if record is not None:
            self._index(record)
        for review_id in self._pairs_citing.get(key, ()):
            self._mark_stale(review_id)

    def _mark_stale(self, review_id: str) -> None:
        self.pairs[review_id].stale = True
        self._stale.add(review_id)

    def forget_old_incidents(self, now: datetime) -> int:
        """Drop incidents no pair needs that are too old to raise one (the rematch
        window); how many were dropped."""
        keep_for = timedelta(hours=self.policy.rematch_window_hours + 1)
        old = [
            key
            for key, seen in self._incident_seen.items()
            if now - seen > keep_for
            and not any(
                self.pairs[r].state != "settled" for r in self._pairs_of_incident.get(key, ())
            )
        ]
        for key in old:
            del self.incidents[key], self._incident_seen[key]
        return len(old)

    # -- read by the pages ----------------------------------------------------------------
    def open_pairs(self, now: datetime) -> list[Pair]:
        """Pairs not settled, most urgent first (``Pair.urgency``): by the earliest deadline
        they hold back, those holding nothing back last; then by their own decide-by."""
        maybe = [p for p in self.pairs.values() if not p.surely_settled]
        for pair in maybe:
            self.refresh(pair, now)
        return sorted((p for p in maybe if p.state != "settled"), key=Pair.urgency)

    def refresh(self, pair: Pair, now: datetime) -> None:
        """Work out what the pair holds back, if anything it depends on changed."""
        if not pair.stale:
            return
        incident, child = self.child_of(pair)
        if incident is None or child is None:
            pair.held, pair.earliest = None, None
            return
        records = [r for r in (self.replica.get(i) for i in pair.candidate_ids) if r]
        pair.held = held_back(incident, child, records, self.policy, self.calendar, now)
        pair.earliest = earliest_held(pair.held)
        pair.stale = False
        self._stale.discard(pair.review_id)

    def warm(self, now: datetime, budget_s: float) -> int:
        """Work out what stale pairs hold back for up to ``budget_s`` of the processor
        (between batches, so the first queue page need not do it all); how many are left."""
        started = time.perf_counter()
        for review_id in list(self._stale):
            pair = self.pairs[review_id]
            if pair.state == "settled":
                self._stale.discard(review_id)
                continue
            self.refresh(pair, now)
            if time.perf_counter() - started > budget_s:
                break
        return len(self._stale)

    def child_of(self, pair: Pair) -> tuple[PoliceIncident | None, InvolvedChild | None]:
        incident = self.incidents.get(pair.key)
        if incident is None:
            return None, None
        reference = pair.match.person_reference
        child = next((c for c in incident.children if c.person_reference == reference), None)
        return incident, child

    def household(self, record: ChildRecord) -> list[ChildRecord]:
        """The other children of a record's household, as the council holds them."""
        near = set(self._household.get(record.household_id or "", ()))
        near |= self._postcode.get(record.postcode or "", set())
        near.discard(record.key)
        found = [r for r in (self.replica.get(i) for i in sorted(near)) if r is not None]
        return [r for r in found if same_household(record, r)]

    def __iter__(self) -> Iterator[Pair]:
        return iter(self.pairs.values())

    def _index(self, record: ChildRecord) -> None:
        if record.household_id:
            self._household.setdefault(record.household_id, set()).add(record.key)
        if record.postcode:
            self._postcode.setdefault(record.postcode, set()).add(record.key)

    def _unindex(self, record: ChildRecord) -> None:
        if record.household_id:
            self._household.get(record.household_id, set()).discard(record.key)
        if record.postcode:
            self._postcode.get(record.postcode, set()).discard(record.key)
