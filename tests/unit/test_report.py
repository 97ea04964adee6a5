"""The compliance report: counts, percentages, acknowledgement times and every format."""

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


def notification(
    n: int, rules: list[str], deadline_h: float, agency: str = "school"
) -> Notification:
    data = factories.example(
        "notification",
        produced_at=(T0 + timedelta(hours=1)).isoformat(),
        notification_id=f"ntf-00000000-0000-0000-0000-{n:012d}",
        rules=rules,
        deadline=(T0 + timedelta(hours=1 + deadline_h)).isoformat(),
    )
    return Notification.model_validate(data)


def ack(n: int, after_h: float) -> Acknowledgement:
    return Acknowledgement.model_validate(
        factories.example(
            "acknowledgement",
            notification_id=f"ntf-00000000-0000-0000-0000-{n:012d}",
            acknowledged_at=(T0 + timedelta(hours=1 + after_h)).isoformat(),
        )
    )


def alert(kind: str, force: str) -> ComplianceAlert:
    return ComplianceAlert.model_validate(
        factories.example(
            "compliance-alert",
            kind=kind,
            subject={"police_source": force},
            observed_at=(T0 + timedelta(hours=2)).isoformat(),
        )
    )


SENT = [
    notification(1, ["R1"], 4),
    notification(2, ["R1"], 4),
    notification(3, ["R1"], 4),
    notification(4, ["R1"], 30),
    notification(5, ["R1", "R2"], 4),
]
ACKS = [ack(1, 1), ack(2, 6), ack(2, 7), ack(5, 2)]
ALERTS = [
    alert("late_police_report", "MPS"),
    alert("late_police_report", "MPS"),
    alert("late_police_report", "KENT"),
    alert("missed", "MPS"),
]
NOW = T0 + timedelta(hours=12)


def test_counts_on_time_late_missed_and_open_per_agency_and_rule() -> None:
    built = report.build(SENT, ACKS, ALERTS, T0, UNTIL, NOW)
    rows = {(r.agency, r.rule): r for r in built.rows}
    r1 = rows[("school", "R1")]
    assert (r1.sent, r1.on_time, r1.late, r1.missed, r1.open) == (5, 2, 1, 1, 1)
    assert r1.on_time_pct == 50.0
    assert r1.median_ack_s == 2 * 3600  # 1 h, 2 h, 6 h (the first acknowledgement counts)
    assert rows[("school", "R2")].sent == 1
    assert built.late_reports_by_force == {"KENT": 1, "MPS": 2}
    assert built.alerts_by_kind == {"late_police_report": 3, "missed": 1}


def test_notifications_outside_the_period_are_left_out() -> None:
    built = report.build(SENT, ACKS, ALERTS, UNTIL, UNTIL + timedelta(days=1), NOW)
    assert built.rows == [] and built.late_reports_by_force == {}


def test_every_format_renders_the_same_figures() -> None:
    built = report.build(SENT, ACKS, ALERTS, T0, UNTIL, NOW)
    table = report.render(built, "table")
    assert "school" in table and "50.0" in table and "KENT" in table
    rows = list(csv.DictReader(io.StringIO(report.render(built, "csv"))))
    assert rows[0]["rule"] == "R1" and rows[0]["missed"] == "1"
    data = json.loads(report.render(built, "json"))
    assert data["notifications"][0]["on_time_pct"] == 50.0
    page = report.render(built, "html")
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    for value in factories.PERSONAL_VALUES:
        assert value not in table + page
