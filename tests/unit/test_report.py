"""The compliance report: one definition, figures that reconcile on the page, the same
figures for a closed period however often it is run, and every format."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from schemas import Acknowledgement, ComplianceAlert, Notification
from streams.compliance import report
from tests import factories

T0 = datetime(2026, 11, 23, tzinfo=UTC)
UNTIL = T0 + timedelta(days=1)
NOW = T0 + timedelta(hours=12)


def _id(n: int) -> str:
    return f"ntf-00000000-0000-0000-0000-{n:012d}"


def notification(
    n: int,
    rules: list[str],
    deadline_h: float,
    sent_h: float = 1,
    revision: int = 0,
    agency: str = "school",
) -> Notification:
    data = factories.example(
        "notification",
        produced_at=(T0 + timedelta(hours=sent_h)).isoformat(),
        notification_id=_id(n),
        revision=revision,
        rules=rules,
        deadline=(T0 + timedelta(hours=deadline_h)).isoformat(),
    )
    return Notification.model_validate(data)


def ack(n: int, at_h: float) -> Acknowledgement:
    return Acknowledgement.model_validate(
        factories.example(
            "acknowledgement",
            notification_id=_id(n),
            acknowledged_at=(T0 + timedelta(hours=at_h)).isoformat(),
        )
    )


def alert(kind: str, at_h: float, force: str = "MPS", n: int | None = None) -> ComplianceAlert:
    subject: dict[str, object] = {"police_source": force}
    if n is not None:
        subject["notification_id"] = _id(n)
    return ComplianceAlert.model_validate(
        factories.example(
            "compliance-alert",
            alert_id=f"alr-{kind}-{at_h}-{force}-{n}",
            kind=kind,
            subject=subject,
            observed_at=(T0 + timedelta(hours=at_h)).isoformat(),
        )
    )


SENT = [
    notification(1, ["R1"], 5),  # acknowledged at 2 h: on time
    notification(2, ["R1"], 5),  # missed at 5 h, acknowledged at 7 h: late, missed first
    notification(3, ["R1", "R2"], 5),  # never acknowledged: missed, under both rules
    notification(4, ["R1"], 31),  # due after the period: open
    notification(5, ["R1", "R2"], 5),  # on time, under both rules
    # Re-sent with new content: counts once, under R1 and R3, against the earlier deadline.
    notification(6, ["R1"], 5),
    notification(6, ["R3"], 8, sent_h=4, revision=1),
    notification(7, ["R1"], 0.5),  # sent after its deadline had passed: missed, not blamed
    notification(8, ["R1"], -2, sent_h=-5),  # sent before the period
    notification(9, ["R1"], 5),  # acknowledged by the deadline, reaching frontdoor late
]
ACKS = [ack(1, 2), ack(2, 7), ack(2, 8), ack(5, 3), ack(6, 6), ack(9, 4.9)]
ALERTS = [
    alert("missed", 5, n=2),
    alert("missed", 5, n=3),
    alert("missed", 1, n=7),
    alert("missed", 1, n=8),
    alert("missed", 5, n=9),
    alert("late", 7, n=2),
    alert("late", 6, n=6),
    alert("late_police_report", 2),
    alert("late_police_report", 2.5),
    alert("late_police_report", 3, force="KENT"),
    alert("late_to_frontdoor", 1, force="KENT"),
    alert("sequence_gap", 3, force="KENT"),
]


def rows(built: report.Report) -> dict[tuple[str, str], report.Row]:
    return {(r.agency, r.rule): r for r in built.rows}


def test_each_notification_is_in_exactly_one_status_and_counted_once() -> None:
    built = report.build(SENT, ACKS, ALERTS, T0, UNTIL, NOW)
    r1 = rows(built)[("school", "R1")]
    assert (r1.sent, r1.on_time, r1.late, r1.missed, r1.open) == (8, 3, 2, 2, 1)
    assert r1.missed_first == 1 and r1.sent_past_deadline == 1
    for row in built.rows:
        assert row.sent == row.on_time + row.late + row.missed + row.open
    # on time / (on time + late + missed - sent past deadline) = 3 / 6
    assert r1.on_time_pct == 50.0
    assert r1.median_ack_s == 3.9 * 3600  # 1, 2, 3.9, 5 and 6 h from first sending


def test_a_resent_notification_counts_once_under_every_rule_against_its_earliest_deadline() -> None:
    built = report.build(SENT, ACKS, ALERTS, T0, UNTIL, NOW)
    r3 = rows(built)[("school", "R3")]
    # Acknowledged at 6 h: on time against the second version's 8 h, late against the 5 h
    # of the first, which is what the deadline tracker judged.
    assert (r3.sent, r3.late, r3.on_time) == (1, 1, 0)
    again = report.build(list(reversed(SENT)), ACKS, list(reversed(ALERTS)), T0, UNTIL, NOW)
    assert again.as_dict() == built.as_dict()


def test_every_missed_alert_is_accounted_for_against_the_table() -> None:
    built = report.build(SENT, ACKS, ALERTS, T0, UNTIL, NOW)
    missed = built.missed_alerts
    assert built.alerts_by_kind["missed"] == missed.total == 5
    # The 'all' row counts each notification once; the rows count one under each rule.
    assert (rows(built)[("school", "R1")].missed, rows(built)[("school", "R2")].missed) == (2, 1)
    assert missed.still_unacknowledged == built.total.missed == 2
    assert missed.acknowledged_after == built.total.missed_first == 1
    assert built.total.sent == 9 - 1  # nine notifications, one sent before the period
    assert (missed.acknowledged_by_deadline, missed.sent_before_period) == (1, 1)
    text = report.render(built, "table")
    assert "5 missed alerts in the period:" in text
    assert "2  still unacknowledged (table: missed)" in text


def test_a_closed_period_gives_the_same_figures_however_often_and_late_it_is_run() -> None:
    """Events after the period's end (an acknowledgement, an alert, a re-sending) do not
    change it."""
    closed = report.build(SENT, ACKS, ALERTS, T0, UNTIL, UNTIL + timedelta(hours=1))
    later = report.build(
        [*SENT, notification(4, ["R9"], 26, sent_h=25, revision=1)],
        [*ACKS, ack(3, 30), ack(4, 29)],
        [*ALERTS, alert("missed", 31, n=4), alert("late", 30, n=3)],
        T0,
        UNTIL,
        UNTIL + timedelta(days=30),
    )
    assert closed.as_dict() == later.as_dict()
    assert report.render(closed, "table") == report.render(later, "table")
    assert closed.as_at == UNTIL
    r1 = rows(closed)[("school", "R1")]
    assert (r1.missed, r1.open) == (2, 1)  # notification 4 is due after the period's end


def test_police_side_alerts_are_counted_by_force() -> None:
    built = report.build(SENT, ACKS, ALERTS, T0, UNTIL, NOW)
    assert built.police_by_force == {
        "KENT": {"late_police_report": 1, "late_to_frontdoor": 1, "sequence_gap": 1},
        "MPS": {"late_police_report": 2},
    }
    assert built.late_reports_by_force == {"KENT": 1, "MPS": 2}


def test_notifications_outside_the_period_are_left_out() -> None:
    built = report.build(SENT, ACKS, ALERTS, UNTIL, UNTIL + timedelta(days=1), NOW)
    assert built.rows == [] and built.police_by_force == {}


def test_every_format_renders_the_same_figures_and_states_the_definition() -> None:
    built = report.build(SENT, ACKS, ALERTS, T0, UNTIL, NOW)
    table = report.render(built, "table")
    assert "school" in table and "50.0" in table and "KENT" in table
    assert "as at 2026-11-23 12:00" in table and "counts once" in table
    rows_csv = list(csv.DictReader(io.StringIO(report.render(built, "csv"))))
    assert rows_csv[0]["rule"] == "R1" and rows_csv[0]["missed"] == "2"
    assert rows_csv[0]["missed_first"] == "1" and rows_csv[0]["sent_past_deadline"] == "1"
    data = json.loads(report.render(built, "json"))
    assert data["notifications"][0]["on_time_pct"] == 50.0
    assert data["definition"] == report.DEFINITION and data["missed_alerts"]["total"] == 5
    page = report.render(built, "html")
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert "counts once" in page
    for value in factories.PERSONAL_VALUES:
        assert value not in table + page
