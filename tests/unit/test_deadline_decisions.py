"""What an incident's outcomes open and close, how commands apply, open work, alert rules:
the compliance decisions the worker's agents only carry out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import ChildRecord, ComplianceAlert, PoliceIncident, ReviewDecision
from schemas.enums import Agency, AlertKind
from streams.compliance import (
    DeadlineCommand,
    Tracked,
    after_outcomes,
    alert_rules,
    apply,
    check_command,
    close_command,
    join_rules,
    open_work,
    track,
    watch_id,
)
from streams.incidents import (
    apply_review_decision,
    pending_after,
    process_incident,
    rematch,
    review_id,
)
from streams.matching import Replica
from streams.routing import load_policy
from tests import factories

POLICY = load_policy()
CAL = POLICY.calendar()
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
WATCH_HOURS = 24.0


def record(**changes: Any) -> ChildRecord:
    return ChildRecord.model_validate(factories.example("child-record", **changes))


def incident(**child: Any) -> PoliceIncident:
    data = factories.incident_child(0, **{"nhs_number": None, **child})
    data["children"] = data["children"][:1]
    return PoliceIncident.model_validate(data)


def ops(commands: list[DeadlineCommand]) -> list[tuple[str, str]]:
    return [(c.op, c.item.kind if c.item else c.id[:3]) for c in commands]


def test_every_notification_opens_its_deadline_and_nothing_else_is_opened() -> None:
    replica = Replica()
    replica.upsert(record())
    inc = incident()
    outcomes = process_incident(inc, replica, POLICY, CAL, NOW)
    commands = after_outcomes(inc, outcomes, NOW, WATCH_HOURS)
    ids = {n.notification_id for o in outcomes for n in o.notifications}
    assert ids and {c.id for c in commands} == ids
    assert all(c.op == "track" and c.item and c.item.registered_at == NOW for c in commands)


def test_a_possible_match_opens_a_review_and_the_decision_closes_it() -> None:
    replica = Replica()
    replica.upsert(record(date_of_birth="2016-02-27", nhs_number=None))
    inc = incident()
    (outcome,) = process_incident(inc, replica, POLICY, CAL, NOW)
    assert outcome.review is not None
    opened = after_outcomes(inc, [outcome], NOW, WATCH_HOURS)
    reviews = [c for c in opened if c.item and c.item.kind == "review"]
    assert [c.id for c in reviews] == [outcome.review.review_id]
    assert reviews[0].item and reviews[0].item.deadline == outcome.review.decide_by

    pending = pending_after(inc, [outcome], NOW)
    assert pending is not None
    decision = ReviewDecision.model_validate(
        factories.example("review-decision", review_id=outcome.review.review_id)
    )
    done, _, _ = apply_review_decision(pending, decision, replica, POLICY, CAL, NOW)
    assert done is not None
    after = after_outcomes(inc, [done], NOW, WATCH_HOURS)
    assert ("close", "wch") in ops(after)  # the child now has notifications
    assert all(c.item is None or c.item.kind == "notification" for c in after)


def test_a_child_routed_with_no_notification_starts_a_watch_due_24_hours_after_the_report() -> None:
    policy = POLICY.model_copy(update={"rules": [POLICY.rules[0]]})  # R1 only: an adult's case
    inc = incident(role="suspect")
    (outcome,) = process_incident(inc, Replica(), policy, CAL, NOW)
    assert outcome.notifications == []
    (command,) = after_outcomes(inc, [outcome], NOW, WATCH_HOURS)
    assert command.item is not None and command.item.kind == "watch"
    assert command.id == watch_id("MPS", "CAD-2026-000123", "MPS-P-1")
    assert command.item.deadline == inc.reported_at + timedelta(hours=24)


def test_a_rematched_child_closes_its_review_and_its_watch() -> None:
    replica = Replica()
    inc = incident()
    (first,) = process_incident(inc, replica, POLICY, CAL, NOW)
    pending = pending_after(inc, [first], NOW)
    assert pending is not None
    replica.upsert(record())
    outcomes, _ = rematch(pending, replica, POLICY, CAL, NOW)
    closed = [c.id for c in after_outcomes(inc, outcomes, NOW, WATCH_HOURS) if c.op == "close"]
    child = inc.children[0]
    assert closed == [review_id(inc, child), watch_id("MPS", inc.incident_reference, "MPS-P-1")]


def notification_item(**changes: Any) -> Tracked:
    fields: dict[str, Any] = {
        "id": "ntf-1",
        "kind": "notification",
        "agency": Agency.SCHOOL,
        "rules": ["R1"],
        "deadline": NOW + timedelta(hours=2),
        "registered_at": NOW,
    }
    return Tracked(**{**fields, **changes})


def test_commands_apply_track_then_check_then_forget() -> None:
    item, alerts = apply(None, track(notification_item()), NOW)
    assert item == notification_item() and alerts == []
    later = NOW + timedelta(hours=3)
    flagged, alerts = apply(item, check_command("ntf-1"), later)
    assert flagged is not None and flagged.missed_flagged
    assert [a.kind for a in alerts] == [AlertKind.MISSED]
    assert apply(flagged, check_command("ntf-1"), later) == (flagged, [])
    assert apply(None, check_command("gone"), later) == (None, [])
    old, _ = apply(flagged, check_command("ntf-1"), later + timedelta(days=31))
    assert old is None  # forgotten: its missed alert was raised long ago


def test_close_settles_an_item_and_a_close_for_nothing_keeps_nothing() -> None:
    closed, alerts = apply(notification_item(kind="review"), close_command("ntf-1"), NOW)
    assert closed is not None and closed.closed_at == NOW and alerts == []
    assert apply(None, close_command("ntf-1"), NOW) == (None, [])


def test_open_work_counts_what_is_due_soon_overdue_and_the_oldest() -> None:
    items = [
        notification_item(deadline=NOW + timedelta(minutes=30)),
        notification_item(deadline=NOW + timedelta(hours=3)),
        notification_item(deadline=NOW - timedelta(hours=2), registered_at=NOW - timedelta(days=1)),
        notification_item(deadline=None),
    ]
    work = open_work(items, NOW)
    assert work.open == 4
    assert work.due_within == {"1h": 1, "4h": 2, "24h": 2}
    assert work.overdue == 1
    assert work.oldest_age_s == 86_400 and work.oldest_past_deadline_s == 7_200
    assert open_work([], NOW).oldest_age_s == 0


def test_an_alert_names_every_rule_and_counts_under_each() -> None:
    assert join_rules(["R3", "R5"]) == "R3+R5" and join_rules([]) is None
    alert = ComplianceAlert.model_validate(factories.example("compliance-alert", rule="R3+R5"))
    assert alert_rules(alert) == ["R3", "R5"]
    assert alert_rules(alert.model_copy(update={"rule": None})) == []
