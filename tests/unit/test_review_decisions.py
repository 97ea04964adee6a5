"""A person's decision on a possible match: four eyes, decisions that are not final, what a
pair holds back, and the evidence a reviewer is shown (the core the worker and console share)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import ChildRecord, PoliceIncident, ReviewDecision
from streams.incidents import (
    PendingIncident,
    apply_review_decision,
    earliest_held,
    held_back,
    needs_second_reviewer,
    pending_after,
    process_incident,
)
from streams.matching import Replica
from streams.routing import load_policy
from tests import factories

POLICY = load_policy()
CAL = POLICY.calendar()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday in term


def record(**changes: Any) -> ChildRecord:
    return ChildRecord.model_validate(factories.example("child-record", **changes))


def under_review() -> tuple[Replica, PoliceIncident, PendingIncident, str]:
    """A child whose only candidate (date of birth a digit off, no NHS number) needs a person."""
    replica = Replica()
    replica.upsert(record(date_of_birth="2016-02-27", nhs_number=None))
    data = factories.incident(risk_grade="medium")
    data["children"] = data["children"][:1]
    data["children"][0]["nhs_number"] = None
    incident = PoliceIncident.model_validate(data)
    (outcome,) = process_incident(incident, replica, POLICY, CAL, NOW)
    assert outcome.review is not None
    pending = pending_after(incident, [outcome], NOW)
    assert pending is not None
    return replica, incident, pending, outcome.review.review_id


def decision(review_id: str, **changes: Any) -> ReviewDecision:
    fields: dict[str, Any] = {"review_id": review_id, "approved_by": None, **changes}
    return ReviewDecision.model_validate(factories.example("review-decision", **fields))


def test_the_possible_match_says_why_it_was_not_linked_and_which_model_scored_it() -> None:
    replica, incident, _, _ = under_review()
    (outcome,) = process_incident(incident, replica, POLICY, CAL, NOW)
    assert outcome.review is not None
    assert outcome.review.why  # e.g. the safety gate, in the matcher's closed list of words
    assert all(reason in _MATCHER_WORDS for reason in outcome.review.why)
    assert outcome.review.model_version == replica.matcher.model.version


_MATCHER_WORDS = {
    "match weight below the auto-link threshold",
    "runner-up too close",
    "safety gate: names/date of birth/NHS number do not agree enough",
    "a sibling or twin in the same household is also plausible",
    "another record's NHS number agrees",
}


def test_a_confirmation_that_tells_a_school_waits_for_a_second_reviewer() -> None:
    replica, _, pending, review_id = under_review()
    alone = decision(review_id)
    outcome, left, what = apply_review_decision(pending, alone, replica, POLICY, CAL, NOW)
    assert (outcome, what) == (None, "four_eyes")
    assert left == pending  # still waiting

    approved = decision(review_id, approved_by="staff-7")
    outcome, left, what = apply_review_decision(pending, approved, replica, POLICY, CAL, NOW)
    assert what == "confirm" and left is None and outcome is not None
    assert "urn:100000" in {n.recipient.organisation for n in outcome.notifications}
    review = outcome.audit.review
    assert review is not None
    assert (review.decided_by, review.approved_by) == ("staff-9", "staff-7")


def test_without_four_eyes_in_the_policy_one_reviewer_confirms() -> None:
    replica, _, pending, review_id = under_review()
    relaxed = POLICY.model_copy(update={"review_four_eyes": False})
    outcome, _, what = apply_review_decision(
        pending, decision(review_id), replica, relaxed, CAL, NOW
    )
    assert what == "confirm" and outcome is not None


def test_nobody_approves_their_own_decision() -> None:
    with pytest.raises(ValidationError, match="nobody approves their own decision"):
        decision("rev-1", approved_by="staff-9")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"decision": "unsure", "record_id": None}, "needs a reason"),
        ({"decision": "propose", "record_id": None}, "needs record_id"),
        ({"decision": "reject", "reason": "other", "record_id": None}, "only an 'unsure'"),
        ({"decision": "propose", "approved_by": "staff-7"}, "only a 'confirm' decision"),
        ({"decision": "unsure", "record_id": None, "reason": "because"}, "reason"),
    ],
)
def test_a_decision_must_be_consistent(changes: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        decision("rev-1", **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"decision": "propose"},
        {"decision": "unsure", "record_id": None, "reason": "need_police_information"},
    ],
)
def test_a_decision_that_is_not_final_leaves_the_pair_waiting(changes: dict[str, Any]) -> None:
    replica, _, pending, review_id = under_review()
    outcome, left, what = apply_review_decision(
        pending, decision(review_id, **changes), replica, POLICY, CAL, NOW
    )
    assert outcome is None and left == pending and what == changes["decision"]


def test_what_a_pair_holds_back_is_what_confirming_or_rejecting_would_add() -> None:
    replica, incident, _, _ = under_review()
    candidate = replica.get("E09000030:C-100")
    assert candidate is not None
    confirm, none = held_back(incident, incident.children[0], [candidate], POLICY, CAL, NOW)
    assert confirm.record_id == candidate.key and none.record_id is None
    told = {h.recipient.organisation for h in confirm.hits}
    assert "urn:100000" in told  # the school (R1), held while a person decides
    assert "E09000030:front-door" not in told  # the review told the front door already
    assert {h.rule for h in none.hits} == {"R1", "R8"}  # the police's school; early help
    # The most urgent thing held: the allocated worker, 4 hours after the report (R5).
    (worker,) = [h for h in confirm.hits if h.to == "allocated"]
    assert worker.rule == "R5" and worker.deadline == incident.reported_at + timedelta(hours=4)
    assert earliest_held([confirm, none]) == worker.deadline
    assert needs_second_reviewer(POLICY, confirm)
    assert not needs_second_reviewer(POLICY, none)


def test_the_evidence_for_a_pair_adds_up_to_the_matchers_score() -> None:
    replica, incident, _, _ = under_review()
    child = incident.children[0]
    evidence = replica.matcher.explain(child, "E09000030:C-100")
    assert evidence is not None
    result = replica.matcher.match(child)
    (candidate,) = result.candidates
    assert [level for level, _ in evidence.levels] == candidate.reasons
    assert evidence.total_bits == pytest.approx(candidate.score, abs=1e-3)
    assert evidence.prior_bits + sum(b for _, b in evidence.levels) == evidence.total_bits
    assert evidence.model_version == replica.matcher.model.version
    assert replica.matcher.explain(child, "E09000030:nobody") is None
