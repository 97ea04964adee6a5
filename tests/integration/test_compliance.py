"""Compliance signals on the real broker with two real workers: every planted case is
flagged once and nothing else is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas import ComplianceAlert
from schemas.enums import AlertKind
from streams import topics
from streams.settings import Settings
from streams.tools.platform.worker_process import WorkerProcess, wait_for
from streams.topics.io import consume
from tests import factories
from tests.integration.conftest import StartWorker
from tests.integration.helpers import (
    acknowledge,
    compliance_policy,
    incident,
    notifications,
    publish_incident,
)


def _settled(settings: Settings, *workers: WorkerProcess) -> bool:
    """Both ready, each owning one of the two partitions of every topic they read."""
    owned = []
    for worker in workers:
        status, body = worker.get("/health")
        if status != 200:
            return False
        name = topics.topic_name(topics.DEADLINES, settings)
        owned.append({p for p in json.loads(body)["assigned_partitions"] if p.startswith(name)})
    return all(len(o) == 1 for o in owned) and owned[0] != owned[1]


def test_planted_missed_late_gap_and_late_report_are_each_flagged_once(
    settings: Settings, start: StartWorker, tmp_path: Path
) -> None:
    policy = compliance_policy(tmp_path)
    first = start(policy_file=policy)
    # Two workers share the partitions; each deadline must still be flagged once.
    second = start(policy_file=policy)
    wait_for(lambda: _settled(settings, first, second), 60, "the two workers to share the work")
    now = datetime.now(UTC)
    planted = {
        "CAD-MISSED": incident("CAD-MISSED", 0, now - timedelta(hours=1), now),
        "CAD-LATE": incident("CAD-LATE", 1, now - timedelta(hours=1), now),
        "CAD-ONTIME": incident("CAD-ONTIME", 2, now - timedelta(hours=1), now),
        "CAD-REPORTED-LATE": incident("CAD-REPORTED-LATE", 3, now - timedelta(days=3), now),
        # sequence 4 never arrives
        "CAD-AFTER-GAP": incident("CAD-AFTER-GAP", 5, now - timedelta(hours=1), now),
    }
    for data in planted.values():
        publish_incident(settings, data)

    sent = {n.incident_reference: n for n in notifications(settings, len(planted))}
    assert set(sent) == set(planted)
    deadline = sent["CAD-LATE"].deadline
    acknowledge(settings, sent["CAD-LATE"], deadline + timedelta(seconds=30))
    for ref in ("CAD-ONTIME", "CAD-REPORTED-LATE", "CAD-AFTER-GAP"):
        acknowledge(settings, sent[ref], now)

    expected = 4
    # Wait past every deadline and gap window, then a little longer for anything extra.
    messages = consume(settings, topics.COMPLIANCE_ALERTS, expected, timeout_s=90, linger_s=8)
    alerts = [ComplianceAlert.model_validate_json(m.value) for m in messages]
    summary = sorted(
        (
            a.kind.value,
            a.subject.incident_reference or f"{a.subject.sequence_from}-{a.subject.sequence_to}",
        )
        for a in alerts
    )
    assert summary == [
        ("late", "CAD-LATE"),
        ("late_police_report", "CAD-REPORTED-LATE"),
        ("missed", "CAD-MISSED"),
        ("sequence_gap", "4-4"),
    ]
    missed = next(a for a in alerts if a.kind is AlertKind.MISSED)
    late = next(a for a in alerts if a.kind is AlertKind.LATE)
    assert late.lateness_seconds == 30.0
    assert missed.subject.notification_id == sent["CAD-MISSED"].notification_id
    assert missed.lateness_seconds is not None
    print(f"missed flagged {missed.lateness_seconds:.2f} s after its deadline")
    for alert in alerts:
        text = alert.model_dump_json()
        assert all(value not in text for value in factories.PERSONAL_VALUES)
