"""Deadline logic with a fake clock: missed, late, both, neither, and each flagged once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import Acknowledgement, Notification, PossibleMatch
from schemas.enums import AlertKind
from streams.compliance.deadlines import (
    FORGET_AFTER,
    acknowledge,
    check,
    close,
    register,
    track_notification,
    track_review,
    track_watch,
)
from tests import factories

DEADLINE = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
SENT = DEADLINE - timedelta(hours=6)
NOTIFICATION = Notification.model_validate(factories.example("notification"))


def ack(at: datetime, status: str = "received") -> Acknowledgement:
    return Acknowledgement.model_validate(
        factories.example(
            "acknowledgement",
            acknowledged_at=at.isoformat(),
            status=status,
            reason_code="wrong_child" if status == "rejected" else None,
        )
    )


def test_an_acknowledgement_before_the_deadline_raises_nothing() -> None:
    item = track_notification(NOTIFICATION, SENT)
    item, alerts = acknowledge(item, ack(DEADLINE - timedelta(minutes=1)), DEADLINE)
    assert alerts == []
    assert check(item, DEADLINE + timedelta(hours=1)) == (item, [])
    assert item.forgettable(DEADLINE)


def test_no_acknowledgement_by_the_deadline_is_missed_once() -> None:
    item = track_notification(NOTIFICATION, SENT)
    assert check(item, DEADLINE - timedelta(seconds=1)) == (item, [])
    item, alerts = check(item, DEADLINE + timedelta(seconds=2))
    assert [(a.kind, a.lateness_seconds) for a in alerts] == [(AlertKind.MISSED, 2.0)]
    assert alerts[0].subject.notification_id == NOTIFICATION.notification_id
    assert alerts[0].rule == "R1" and alerts[0].agency.value == "school"  # type: ignore[union-attr]
    assert check(item, DEADLINE + timedelta(hours=3)) == (item, [])


def test_a_missed_notification_acknowledged_later_is_also_late() -> None:
    item, _ = check(track_notification(NOTIFICATION, SENT), DEADLINE + timedelta(seconds=1))
    item, alerts = acknowledge(
        item, ack(DEADLINE + timedelta(hours=2)), DEADLINE + timedelta(hours=2)
    )
    assert [(a.kind, a.lateness_seconds) for a in alerts] == [(AlertKind.LATE, 7200.0)]
    again, more = acknowledge(item, ack(DEADLINE + timedelta(hours=3)), DEADLINE)
    assert more == [] and again.acked_at == DEADLINE + timedelta(hours=2)


def test_an_acknowledgement_after_the_deadline_but_before_a_scan_is_late_only() -> None:
    item = track_notification(NOTIFICATION, SENT)
    item, alerts = acknowledge(item, ack(DEADLINE + timedelta(minutes=5)), DEADLINE)
    assert [a.kind for a in alerts] == [AlertKind.LATE]
    assert check(item, DEADLINE + timedelta(hours=1))[1] == []


def test_an_acknowledgement_that_arrives_before_the_notification_is_registered() -> None:
    early, alerts = acknowledge(None, ack(DEADLINE + timedelta(minutes=10)), SENT)
    assert alerts == [] and early.deadline is None
    item, alerts = register(early, track_notification(NOTIFICATION, SENT), SENT)
    assert item.deadline == DEADLINE
    assert [a.kind for a in alerts] == [AlertKind.LATE]


def test_a_resent_notification_keeps_the_earliest_deadline_and_every_rule() -> None:
    first = track_notification(NOTIFICATION, SENT)
    resent = NOTIFICATION.model_copy(
        update={"rules": ["R2"], "deadline": DEADLINE - timedelta(hours=1)}
    )
    item, _ = register(first, track_notification(resent, SENT), SENT)
    assert item.rules == ["R1", "R2"] and item.deadline == DEADLINE - timedelta(hours=1)


def test_a_review_left_undecided_is_overdue_and_a_decision_closes_it() -> None:
    review = PossibleMatch.model_validate(factories.example("possible-match"))
    item = track_review(review, SENT)
    _, alerts = check(item, review.decide_by + timedelta(seconds=1))
    assert [a.kind for a in alerts] == [AlertKind.REVIEW_OVERDUE]
    assert alerts[0].subject.review_id == "rev-1"
    decided = close(item, review.decide_by - timedelta(hours=1))
    assert decided is not None and check(decided, review.decide_by + timedelta(days=1))[1] == []


def test_a_child_with_no_notification_within_24_hours_is_flagged() -> None:
    item = track_watch("MPS", "CAD-1", "P-1", DEADLINE, SENT)
    _, alerts = check(item, DEADLINE + timedelta(seconds=3))
    assert [a.kind for a in alerts] == [AlertKind.NO_NOTIFICATION]
    assert alerts[0].subject.incident_reference == "CAD-1"


def test_alert_ids_are_deterministic_so_a_replay_never_doubles_an_alert() -> None:
    a = check(track_notification(NOTIFICATION, SENT), DEADLINE + timedelta(seconds=1))[1][0]
    b = check(track_notification(NOTIFICATION, SENT), DEADLINE + timedelta(hours=1))[1][0]
    assert a.alert_id == b.alert_id


def test_never_acknowledged_items_are_forgotten_after_a_month() -> None:
    item, _ = check(track_notification(NOTIFICATION, SENT), DEADLINE + timedelta(seconds=1))
    assert not item.forgettable(SENT + timedelta(days=2))
    assert item.forgettable(SENT + FORGET_AFTER + timedelta(seconds=1))
