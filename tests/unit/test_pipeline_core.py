"""The functional core the agents call: decisions, pending children, reviews, rematches, R12."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import ChildRecord, PoliceIncident, ReviewDecision
from streams.incidents import (
    ChildNotified,
    Seen,
    apply_review_decision,
    child_key,
    escalation,
    pending_after,
    process_incident,
    rematch,
    remember,
)
from streams.matching import Replica
from streams.routing import load_policy
from tests import factories

POLICY = load_policy()
CAL = POLICY.calendar()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def record(**changes: Any) -> ChildRecord:
    return ChildRecord.model_validate(factories.example("child-record", **changes))


def incident(**changes: Any) -> PoliceIncident:
    data = factories.incident(**{"risk_grade": "medium", **changes})
    data["children"] = data["children"][:1]
    data["children"][0]["nhs_number"] = None
    return PoliceIncident.model_validate(data)


def test_an_unmatched_child_stays_pending_and_a_late_record_settles_it() -> None:
    replica = Replica()
    inc = incident()
    (outcome,) = process_incident(inc, replica, POLICY, CAL, NOW)
    assert outcome.decision == "none"
    pending = pending_after(inc, [outcome], NOW)
    assert pending is not None and pending.children[0].state == "none"

    replica.upsert(record())
    outcomes, left = rematch(pending, replica, POLICY, CAL, NOW + timedelta(hours=1))
    assert [o.decision for o in outcomes] == ["auto"]
    assert outcomes[0].audit.stage == "rematched"
    assert left is None
    same_recipient = {n.recipient.organisation: n.notification_id for n in outcome.notifications}
    for n in outcomes[0].notifications:
        if n.recipient.organisation in same_recipient:
            assert n.notification_id == same_recipient[n.recipient.organisation]


def test_a_review_is_published_and_a_confirmation_routes_with_the_record() -> None:
    replica = Replica()
    replica.upsert(record(date_of_birth="2016-02-27", nhs_number=None))
    inc = incident()
    (outcome,) = process_incident(inc, replica, POLICY, CAL, NOW)
    assert outcome.decision == "review" and outcome.review is not None
    assert not any(n.recipient.organisation.startswith("urn:") for n in outcome.notifications)
    pending = pending_after(inc, [outcome], NOW)
    assert pending is not None

    decision = ReviewDecision.model_validate(
        factories.example("review-decision", review_id=outcome.review.review_id)
    )
    done, left, what = apply_review_decision(pending, decision, replica, POLICY, CAL, NOW)
    assert what == "confirm" and left is None and done is not None
    assert done.audit.reviewer == "staff-9"
    assert "urn:100000" in {n.recipient.organisation for n in done.notifications}

    again, _, said = apply_review_decision(
        pending.model_copy(update={"children": []}), decision, replica, POLICY, CAL, NOW
    )
    assert again is None and said == "already_settled"


def test_the_audit_and_the_possible_match_say_which_gate_path_and_what_held_a_link_back() -> None:
    """Audit record 1.2 and possible match 1.2: the gate's path a link took, and for a
    pair sent to review the matcher's reasons (closed-list text, no personal data)."""
    replica = Replica()
    replica.upsert(record(nhs_number=None))
    (linked,) = process_incident(incident(), replica, POLICY, CAL, NOW)
    assert linked.decision == "auto"
    assert linked.audit.child.match_path == "given name and date of birth"
    assert linked.audit.child.match_why == []

    replica = Replica()
    replica.upsert(record(date_of_birth="2016-02-27", nhs_number=None))
    (held,) = process_incident(incident(), replica, POLICY, CAL, NOW)
    assert held.decision == "review" and held.review is not None
    assert held.audit.child.match_why == held.review.why != []
    assert held.audit.child.match_path == held.review.gate
    assert held.review.schema_version == "1.2" and held.audit.schema_version == "1.2"


def test_a_rejected_review_routes_as_a_child_not_known() -> None:
    replica = Replica()
    replica.upsert(record(date_of_birth="2016-02-27", nhs_number=None))
    inc = incident()
    (outcome,) = process_incident(inc, replica, POLICY, CAL, NOW)
    pending = pending_after(inc, [outcome], NOW)
    assert pending is not None and outcome.review is not None
    decision = ReviewDecision.model_validate(
        factories.example(
            "review-decision",
            review_id=outcome.review.review_id,
            decision="reject",
            record_id=None,
            approved_by=None,
        )
    )
    done, _, _ = apply_review_decision(pending, decision, replica, POLICY, CAL, NOW)
    assert done is not None and done.decision == "none"
    assert "R8" in done.audit.child.rules_fired  # early help for a child not known


def test_an_older_record_update_never_rolls_the_replica_back() -> None:
    replica = Replica()
    assert replica.upsert(record(updated_at="2026-11-26T10:00:00+00:00", status="looked_after"))
    assert not replica.upsert(record(updated_at="2026-11-25T10:00:00+00:00", status="none"))
    held = replica.get("E09000030:C-100")
    assert held is not None and held.status.value == "looked_after"
    assert replica.delete("E09000030:C-100") and len(replica) == 0


def test_child_key_is_the_council_record_once_known() -> None:
    inc = incident()
    assert child_key(inc, inc.children[0], None) == "police:MPS:MPS-P-1"
    assert child_key(inc, inc.children[0], record()) == "council:E09000030:C-100"


def _notified(n: int, risk: str = "standard", days_ago: int = 0) -> ChildNotified:
    inc = incident(
        incident_reference=f"CAD-{n}",
        risk_grade=risk,
        occurred_at=(NOW - timedelta(days=days_ago, hours=1)).isoformat(),
        reported_at=(NOW - timedelta(days=days_ago)).isoformat(),
    )
    return ChildNotified(
        child_key="council:E09000030:C-100",
        incident=inc,
        person_reference="MPS-P-1",
        record=record(),
    )


def _arrive(history: list[Seen], events: list[ChildNotified]) -> tuple[list[Seen], list[str]]:
    """Feed the events in this order; the incident references escalated, as they happen."""
    escalated = []
    for event in events:
        kept = remember(history, event, POLICY.repeat_rule, NOW)
        history = kept.history
        escalated += [e.incident.incident_reference for e in kept.escalate]
    return history, escalated


def test_r12_escalates_on_the_third_standard_risk_incident_within_90_days() -> None:
    events = [_notified(n, days_ago=days_ago) for n, days_ago in enumerate([80, 10, 0])]
    _, escalated = _arrive([], events)
    assert escalated == ["CAD-2"]
    sent = escalation(events[2], POLICY, CAL, NOW)
    assert sent.rules == ["R12"]
    assert sent.recipient.organisation == "E09000030:front-door-escalation"


def test_r12_ignores_old_and_higher_risk_incidents_and_counts_each_incident_once() -> None:
    events = [
        _notified(n, risk, days_ago)
        for n, (risk, days_ago) in enumerate([("standard", 120), ("high", 5), ("standard", 1)])
    ]
    last = _notified(3)
    history, escalated = _arrive([], [*events, last, last])  # the last one twice
    assert escalated == []  # 120 days ago is outside the window; high risk does not count
    assert [s.incident_key for s in history] == [f"MPS:CAD-{n}" for n in range(4)]


@pytest.mark.parametrize("order", [(2, 0, 1), (0, 2, 1), (1, 2, 0), (2, 1, 0), (0, 1, 2)])
def test_r12_escalates_the_same_incident_whichever_order_the_three_arrive_in(
    order: tuple[int, int, int],
) -> None:
    """The third by report escalates, even when it arrives first (a late report, a
    batching force, a backlog or a fail-over reorder a child's incidents)."""
    events = [_notified(n, days_ago=days_ago) for n, days_ago in enumerate([80, 10, 0])]
    history, escalated = _arrive([], [events[i] for i in order])
    assert escalated == ["CAD-2"]
    (done,) = [s for s in history if s.escalated]
    assert done.incident_key == "MPS:CAD-2" and done.waiting is None  # escalated, not kept
    _, again = _arrive(history, [events[order[0]]])  # a replay of one: nothing new
    assert again == []


def test_a_waiting_incident_keeps_what_it_needs_only_while_r12_could_use_it() -> None:
    waiting = _notified(0, days_ago=5)
    history, _ = _arrive([], [waiting])
    assert history[0].waiting == waiting
    later = remember(
        history, _notified(1, days_ago=0), POLICY.repeat_rule, NOW + timedelta(days=200)
    )
    assert [s.waiting for s in later.history if s.incident_key == "MPS:CAD-0"] == [None]
