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
    item = track_notification(NOTIFICATION, SENT, "MPS")
    item, alerts = acknowledge(item, ack(DEADLINE - timedelta(minutes=1)), DEADLINE)
    assert alerts == []
    assert check(item, DEADLINE + timedelta(hours=1)) == (item, [])
    assert item.forgettable(DEADLINE)


def test_no_acknowledgement_by_the_deadline_is_missed_once() -> None:
    item = track_notification(NOTIFICATION, SENT, "MPS")
    assert check(item, DEADLINE - timedelta(seconds=1)) == (item, [])
    item, alerts = check(item, DEADLINE + timedelta(seconds=2))
    assert [(a.kind, a.lateness_seconds) for a in alerts] == [(AlertKind.MISSED, 2.0)]
    assert alerts[0].subject.notification_id == NOTIFICATION.notification_id
    assert alerts[0].rule == "R1" and alerts[0].agency.value == "school"  # type: ignore[union-attr]
    assert check(item, DEADLINE + timedelta(hours=3)) == (item, [])


def test_a_missed_notification_acknowledged_later_is_also_late() -> None:
    item, _ = check(track_notification(NOTIFICATION, SENT, "MPS"), DEADLINE + timedelta(seconds=1))
    item, alerts = acknowledge(
        item, ack(DEADLINE + timedelta(hours=2)), DEADLINE + timedelta(hours=2)
    )
    assert [(a.kind, a.lateness_seconds) for a in alerts] == [(AlertKind.LATE, 7200.0)]
    again, more = acknowledge(item, ack(DEADLINE + timedelta(hours=3)), DEADLINE)
    assert more == [] and again.acked_at == DEADLINE + timedelta(hours=2)


def test_an_acknowledgement_after_the_deadline_but_before_a_scan_is_late_only() -> None:
    item = track_notification(NOTIFICATION, SENT, "MPS")
    item, alerts = acknowledge(item, ack(DEADLINE + timedelta(minutes=5)), DEADLINE)
    assert [a.kind for a in alerts] == [AlertKind.LATE]
    assert check(item, DEADLINE + timedelta(hours=1))[1] == []


def test_an_acknowledgement_that_arrives_before_the_notification_is_registered() -> None:
    early, alerts = acknowledge(None, ack(DEADLINE + timedelta(minutes=10)), SENT)
    assert alerts == [] and early.deadline is None
    item, alerts = register(early, track_notification(NOTIFICATION, SENT, "MPS"), SENT)
    assert item.deadline == DEADLINE
    assert [a.kind for a in alerts] == [AlertKind.LATE]


def test_a_resent_notification_keeps_the_earliest_deadline_and_every_rule() -> None:
    first = track_notification(NOTIFICATION, SENT, "MPS")
    resent = NOTIFICATION.model_copy(
        update={"rules": ["R2"], "deadline": DEADLINE - timedelta(hours=1)}
    )
    item, _ = register(first, track_notification(resent, SENT, "MPS"), SENT)
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
    a = check(track_notification(NOTIFICATION, SENT, "MPS"), DEADLINE + timedelta(seconds=1))[1][0]
    b = check(track_notification(NOTIFICATION, SENT, "MPS"), DEADLINE + timedelta(hours=1))[1][0]
    assert a.alert_id == b.alert_id


def test_never_acknowledged_items_are_forgotten_after_a_month() -> None:
    item, _ = check(track_notification(NOTIFICATION, SENT, "MPS"), DEADLINE + timedelta(seconds=1))
    assert not item.forgettable(SENT + timedelta(days=2))
    assert item.forgettable(SENT + FORGET_AFTER + timedelta(seconds=1))


def test_missed_and_late_alerts_name_the_force_the_child_and_when_it_was_sent() -> None:
    on_time = NOTIFICATION.model_copy(update={"produced_at": SENT})
    item, (missed,) = check(track_notification(on_time, SENT, "KENT"), DEADLINE)
    _, (late,) = acknowledge(item, ack(DEADLINE + timedelta(hours=1)), DEADLINE)
    for alert in (missed, late):
        assert alert.subject.police_source == "KENT"
        assert alert.subject.person_reference == NOTIFICATION.person_reference
        assert alert.subject.incident_reference == NOTIFICATION.incident_reference
        assert alert.sent_at == SENT
        assert alert.sent_past_deadline is False


def test_a_notification_sent_after_its_deadline_had_passed_says_so() -> None:
    """The incident reached frontdoor after the deadline: the agency is not to blame."""
    sent = DEADLINE + timedelta(hours=8)
    behind = NOTIFICATION.model_copy(update={"produced_at": sent})
    item, (missed,) = check(track_notification(behind, sent, "KENT"), sent)
    _, (late,) = acknowledge(item, ack(sent + timedelta(minutes=20)), sent)
    assert (missed.kind, late.kind) == (AlertKind.MISSED, AlertKind.LATE)
    assert missed.sent_past_deadline is True and late.sent_past_deadline is True
    assert missed.sent_at == late.sent_at == sent


def test_a_resent_notification_keeps_its_first_sending_time() -> None:
    first = NOTIFICATION.model_copy(update={"produced_at": SENT})
    again = NOTIFICATION.model_copy(update={"produced_at": DEADLINE + timedelta(hours=1)})
    item, _ = register(
        track_notification(first, SENT, "MPS"), track_notification(again, SENT, "MPS"), SENT
    )
    assert item.sent_at == SENT and item.sent_past_deadline is False


def test_two_children_of_one_incident_with_no_notification_get_two_distinct_alerts() -> None:
    alerts = [
        check(track_watch("MPS", "CAD-1", person, DEADLINE, SENT), DEADLINE)[1][0]
        for person in ("P-1", "P-2")
    ]
    assert [a.subject.person_reference for a in alerts] == ["P-1", "P-2"]
    assert {a.subject.police_source for a in alerts} == {"MPS"}
    assert alerts[0].alert_id != alerts[1].alert_id


def test_an_overdue_review_names_the_force_and_the_child() -> None:
    review = PossibleMatch.model_validate(factories.example("possible-match"))
    _, (alert,) = check(track_review(review, SENT), review.decide_by)
    assert alert.subject.police_source == review.police_source
    assert alert.subject.person_reference == review.person_reference
    assert alert.sent_at is None and alert.sent_past_deadline is None
