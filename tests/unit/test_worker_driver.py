"""The worker's handlers, wired as the topology declares, run in-process on a test clock."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import (
    Acknowledgement,
    AuditRecord,
    ChildRecord,
    ComplianceAlert,
    DeadLetter,
    Notification,
    PossibleMatch,
)
from schemas.enums import AlertKind
from streams.compliance import Tracked
from streams.incidents import PendingIncident
from streams.topics import (
    ACKS,
    AUDIT,
    COMPLIANCE_ALERTS,
    DEAD_LETTERS,
    NOTIFY,
    POLICE_INCIDENTS,
    REVIEW_DECISIONS,
    REVIEW_MATCHES,
)
from streams.worker import (
    Topology,
    UndeclaredWrite,
    WorkerContext,
    WorkerTestDriver,
    build_topology,
)
from streams.worker.outbox import partition_of
from tests import factories

NOW = datetime(2026, 11, 26, 1, 20, tzinfo=UTC)  # five minutes after the incident's report
KEY = "MPS:CAD-2026-000123"


def record(**changes: Any) -> ChildRecord:
    return ChildRecord.model_validate(factories.example("child-record", **changes))


def one_child_incident(**child: Any) -> bytes:
    """The factory incident with its first child only, that child changed by ``child``."""
    data = factories.incident_child(0, **child)
    data["children"] = data["children"][:1]
    return json.dumps(data).encode()


@pytest.fixture
def driver() -> Iterator[WorkerTestDriver]:
    with WorkerTestDriver(NOW, records=[record()]) as running:
        yield running


def notifications(driver: WorkerTestDriver) -> list[Notification]:
    return [s.model(Notification) for spec in NOTIFY.values() for s in driver.sent_to(spec)]


def alerts(driver: WorkerTestDriver, kind: AlertKind) -> list[ComplianceAlert]:
    found = [s.model(ComplianceAlert) for s in driver.sent_to(COMPLIANCE_ALERTS)]
    return [a for a in found if a.kind == kind]


def tracked(driver: WorkerTestDriver, item_id: str) -> Tracked | None:
    raw = driver.table("deadlines").get(item_id.encode())
    return Tracked.model_validate_json(raw) if raw else None


def test_an_incident_is_routed_audited_and_its_deadlines_tracked(driver: WorkerTestDriver) -> None:
    raw = factories.incident()
    driver.send(POLICE_INCIDENTS, KEY, json.dumps(raw).encode(), published_at=NOW)

    sent = notifications(driver)
    by_org = {n.recipient.organisation: n for n in sent}
    assert "urn:100000" in by_org  # R1: the known child's school, before the next school day
    assert by_org["E09000030:worker:SW-42"].rules == ["R5"]  # the allocated social worker
    assert all(n.incident_published_at == NOW for n in sent)
    audits = [s.model(AuditRecord) for s in driver.sent_to(AUDIT)]
    assert {(a.child.person_reference, a.child.decision) for a in audits} == {
        ("MPS-P-1", "auto"),
        ("MPS-P-2", "none"),  # not in the council's records: waits for a late record
    }
    assert {s.key for s in driver.sent_to(AUDIT)} == {KEY.encode()}
    for notification in sent:
        item = tracked(driver, notification.notification_id)
        assert item is not None and item.deadline == notification.deadline
    pending = PendingIncident.model_validate_json(driver.table("pending")[KEY.encode()])
    assert [c.person_reference for c in pending.children] == ["MPS-P-2"]
    assert {c.table for c in driver.changes} >= {"pending", "deadlines", "child-history"}


def test_an_invalid_incident_is_dead_lettered_and_its_sequence_number_still_counts(
    driver: WorkerTestDriver,
) -> None:
    broken = factories.incident(children=[])
    driver.send(POLICE_INCIDENTS, KEY, json.dumps(broken).encode())

    (letter,) = [s.model(DeadLetter) for s in driver.sent_to(DEAD_LETTERS)]
    assert letter.original_topic == POLICE_INCIDENTS.name
    assert [r.location for r in letter.reasons] == ["children"]
    assert driver.sent_to(DEAD_LETTERS)[0].key == KEY.encode()
    assert not driver.sent_to(AUDIT) and not notifications(driver)
    assert b'"highest":41' in driver.table("sequences")[b"MPS"]


def test_an_acknowledgement_closes_its_deadline_and_only_the_others_are_missed(
    driver: WorkerTestDriver,
) -> None:
    driver.send(POLICE_INCIDENTS, KEY, one_child_incident())
    school = next(n for n in notifications(driver) if n.recipient.agency == "school")
    ack = Acknowledgement.model_validate(
        factories.example(
            "acknowledgement",
            notification_id=school.notification_id,
            acknowledged_at=(NOW + timedelta(minutes=30)).isoformat(),
        )
    )
    driver.send(ACKS, school.notification_id, ack)
    item = tracked(driver, school.notification_id)
    assert item is not None and item.acked_at == ack.acknowledged_at

    driver.advance(timedelta(days=3))

    missed = {a.subject.notification_id for a in alerts(driver, AlertKind.MISSED)}
    assert school.notification_id not in missed
    others = {n.notification_id for n in notifications(driver)} - {school.notification_id}
    assert others and others <= missed
    assert tracked(driver, school.notification_id) is None  # settled, then forgotten


def test_an_acknowledgement_keyed_otherwise_is_dead_lettered(driver: WorkerTestDriver) -> None:
    ack = Acknowledgement.model_validate(factories.example("acknowledgement"))
    driver.send(ACKS, "not-the-notification-id", ack)
    (letter,) = [s.model(DeadLetter) for s in driver.sent_to(DEAD_LETTERS)]
    assert [r.error_type for r in letter.reasons] == ["key_mismatch"]
    assert tracked(driver, ack.notification_id) is None


def test_a_review_decision_resumes_routing_and_closes_the_review() -> None:
    unsure = record(date_of_birth="2016-02-27", nhs_number=None)
    with WorkerTestDriver(NOW, records=[unsure]) as driver:
        driver.send(POLICE_INCIDENTS, KEY, one_child_incident(nhs_number=None))
        (review,) = [s.model(PossibleMatch) for s in driver.sent_to(REVIEW_MATCHES)]
        assert [c.record_id for c in review.candidates] == ["E09000030:C-100"]
        assert not any(n.recipient.agency == "school" for n in notifications(driver))
        opened = tracked(driver, review.review_id)
        assert opened is not None and opened.kind == "review" and opened.closed_at is None

        decision = factories.example("review-decision", review_id=review.review_id)
        driver.send(REVIEW_DECISIONS, KEY, json.dumps(decision).encode())

        assert any(n.recipient.organisation == "urn:100000" for n in notifications(driver))
        closed = tracked(driver, review.review_id)
        assert closed is not None and closed.closed_at == NOW
        stages = [s.model(AuditRecord).stage for s in driver.sent_to(AUDIT)]
        assert stages == ["routed", "review_decided"]
        assert KEY.encode() not in driver.table("pending")


def test_a_deadline_falling_due_raises_one_missed_alert(driver: WorkerTestDriver) -> None:
    driver.send(POLICE_INCIDENTS, KEY, one_child_incident())
    first = min(n.deadline for n in notifications(driver))  # high risk: 1 H (R4, R5)
    urgent = {n.notification_id: n for n in notifications(driver) if n.deadline == first}

    driver.advance(first - NOW - timedelta(seconds=1))
    assert not alerts(driver, AlertKind.MISSED)

    driver.advance(timedelta(seconds=2))
    missed = alerts(driver, AlertKind.MISSED)
    assert sorted(a.subject.notification_id or "" for a in missed) == sorted(urgent)
    for alert in missed:
        notification = urgent[alert.subject.notification_id or ""]
        assert alert.rule == "+".join(notification.rules) and alert.lateness_seconds == 1.0

    driver.advance(timedelta(minutes=1))
    assert len(alerts(driver, AlertKind.MISSED)) == len(urgent)  # each flagged once


def test_a_late_council_record_matches_a_waiting_child_under_the_same_ids() -> None:
    with WorkerTestDriver(NOW) as driver:
        driver.send(POLICE_INCIDENTS, KEY, one_child_incident())
        before = {n.recipient.organisation: n.notification_id for n in notifications(driver)}
        assert "E09000030:worker:SW-42" not in before  # not known: no allocated worker

        driver.council([record()])

        after = {n.recipient.organisation: n.notification_id for n in notifications(driver)}
        assert "E09000030:worker:SW-42" in after  # R5: the child has a protection plan
        assert all(after[org] == nid for org, nid in before.items())
        revisions: dict[str, set[int]] = {}
        for n in notifications(driver):
            revisions.setdefault(n.notification_id, set()).add(n.revision)
        assert all(revisions[nid] == {0, 1} for nid in before.values())  # re-sent as revision 1
        assert revisions[after["E09000030:worker:SW-42"]] == {1}
        stages = [s.model(AuditRecord).stage for s in driver.sent_to(AUDIT)]
        assert stages == ["routed", "rematched"]
        assert KEY.encode() not in driver.table("pending")


def test_a_handler_writing_a_topic_its_stream_does_not_declare_fails() -> None:
    def incidents_write_only_audit(ctx: WorkerContext) -> Topology:
        topology = build_topology(ctx)
        streams = tuple(
            dataclasses.replace(s, writes=(AUDIT,)) if POLICE_INCIDENTS in s.reads else s
            for s in topology.streams
        )
        return dataclasses.replace(topology, streams=streams)

    with (
        WorkerTestDriver(NOW, topology=incidents_write_only_audit) as driver,
        pytest.raises(UndeclaredWrite, match=r"incident_arrived wrote notify\."),
    ):
        driver.send(POLICE_INCIDENTS, KEY, one_child_incident())


def incident_numbered(reference: str) -> bytes:
    data = factories.incident(incident_reference=reference)
    data["children"] = data["children"][:1]
    return json.dumps(data).encode()


def test_an_event_whose_processing_fails_is_dead_lettered_and_the_batch_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing_on_boom(ctx: WorkerContext) -> Topology:
        topology = build_topology(ctx)

        def failing(stream: Any) -> Any:
            real = stream.handler

            def incident_arrived(out: Any, event: Any, now: datetime) -> None:
                real(out, event, now)  # everything it produced must be undone
                if event.key.endswith(b"BOOM"):
                    raise RuntimeError(event.value.decode())  # quotes the child's name

            return dataclasses.replace(stream, handler=incident_arrived)

        streams = [failing(s) if POLICE_INCIDENTS in s.reads else s for s in topology.streams]
        return dataclasses.replace(topology, streams=tuple(streams))

    with WorkerTestDriver(NOW, records=[record()], topology=failing_on_boom) as driver:
        driver.send_batch(
            POLICE_INCIDENTS,
            [(f"MPS:{ref}", incident_numbered(ref)) for ref in ("CAD-1", "CAD-BOOM", "CAD-2")],
        )

        audited = {s.model(AuditRecord).incident_reference for s in driver.sent_to(AUDIT)}
        assert audited == {"CAD-1", "CAD-2"}
        assert {n.incident_reference for n in notifications(driver)} == {"CAD-1", "CAD-2"}
        (dead,) = [s.model(DeadLetter) for s in driver.sent_to(DEAD_LETTERS)]
        assert dead.reason_class == "processing_error"
        assert [r.error_type for r in dead.reasons] == ["RuntimeError"]
        assert "Zebedee" not in dead.model_dump_json(exclude={"original_value_b64"})
        assert "RuntimeError" in caplog.text and "Zebedee" not in caplog.text


def test_a_burst_spread_over_partitions_is_judged_once_by_the_forces_owner(
    driver: WorkerTestDriver,
) -> None:
    """Batching is judged on the force's own state (re-keyed by force), not by whichever
    worker holds each incident's partition: 24 old incidents on several partitions raise
    one alert, naming the force, with the burst's median age."""
    occurred = NOW - timedelta(days=3)
    burst = []
    for n in range(24):
        data = factories.incident(
            incident_reference=f"CAD-B-{n}",
            event_id=f"evt-b-{n}",
            sequence=100 + n,
            occurred_at=occurred.isoformat(),
            reported_at=(occurred + timedelta(hours=1)).isoformat(),
        )
        data["children"] = data["children"][:1]
        burst.append((f"MPS:CAD-B-{n}", json.dumps(data).encode()))
    partitions = {partition_of(key.encode(), 4) for key, _ in burst}
    assert len(partitions) > 1
    driver.send_batch(POLICE_INCIDENTS, burst)

    (batching,) = alerts(driver, AlertKind.BATCHING)
    assert batching.subject.police_source == "MPS"
    assert batching.lateness_seconds == timedelta(days=2).total_seconds()  # median age - 24 h
    state = json.loads(driver.table("sequences")[b"MPS"])
    assert len(state["stale"]) == 24 and state["raised"] == [batching.alert_id]


def test_an_incident_held_back_upstream_is_late_to_frontdoor_and_not_the_agencys_fault(
    driver: WorkerTestDriver,
) -> None:
    """Reported 3 h before it reached frontdoor: one late_to_frontdoor alert naming the
    force; the 1 H notifications it produced are missed, marked as sent past their
    deadline, so the agency is not blamed for the delay."""
    data = json.loads(one_child_incident())
    data["occurred_at"] = (NOW - timedelta(hours=4)).isoformat()
    data["reported_at"] = (NOW - timedelta(hours=3)).isoformat()
    driver.send(POLICE_INCIDENTS, KEY, json.dumps(data).encode(), published_at=NOW)

    (late,) = alerts(driver, AlertKind.LATE_TO_FRONTDOOR)
    assert late.subject.police_source == "MPS" and late.lateness_seconds == 2 * 3600
    driver.advance(timedelta(seconds=1))
    missed = alerts(driver, AlertKind.MISSED)
    assert missed and all(a.sent_past_deadline for a in missed)
    assert all(a.subject.police_source == "MPS" and a.sent_at == NOW for a in missed)
    assert {a.subject.person_reference for a in missed} == {data["children"][0]["person_reference"]}


def test_a_worker_backlog_is_not_blamed_on_the_force(driver: WorkerTestDriver) -> None:
    """On the bus five minutes after the report, processed three hours later."""
    data = json.loads(one_child_incident())
    reported = NOW - timedelta(hours=3)
    data["occurred_at"] = (reported - timedelta(minutes=30)).isoformat()
    data["reported_at"] = reported.isoformat()
    on_bus = reported + timedelta(minutes=5)
    driver.send(POLICE_INCIDENTS, KEY, json.dumps(data).encode(), published_at=on_bus)
    assert alerts(driver, AlertKind.LATE_TO_FRONTDOOR) == []


def test_a_slow_clock_shows_one_instant_per_incident_in_its_audit_notifications_and_deadlines() -> (
    None
):
    """Every reading of this clock is a millisecond after the last (under the demo's clock,
    3,600 times real time, a millisecond is 3.6 s): an incident's audit records,
    notifications and deadlines still carry the one instant its handler was given, and
    so do an escalation's (R12, a later event of its own)."""
    tick = timedelta(milliseconds=1)
    with WorkerTestDriver(NOW, records=[record(status="none")], tick=tick) as driver:
        for n in range(3):
            ref = f"CAD-R{n}"
            incident = json.loads(one_child_incident())
            incident.update(
                incident_reference=ref, event_id=f"evt-{ref}", risk_grade="standard", sequence=n
            )
            incident.pop("dash_ticks", None)
            driver.send(POLICE_INCIDENTS, f"MPS:{ref}", json.dumps(incident).encode())

        audits = [s.model(AuditRecord) for s in driver.sent_to(AUDIT)]
        sent = notifications(driver)
        by_event: dict[tuple[str, str], set[datetime]] = {}
        for audit in audits:
            kind = "escalated" if audit.stage == "escalated" else "arrived"
            by_event.setdefault((audit.incident_reference, kind), set()).add(audit.produced_at)
        for n in sent:
            kind = "escalated" if n.rules == ["R12"] else "arrived"
            item = tracked(driver, n.notification_id)
            assert item is not None and item.registered_at is not None
            by_event.setdefault((n.incident_reference, kind), set()).update(
                {n.produced_at, item.registered_at}
            )
    assert ("CAD-R2", "escalated") in by_event  # the third made the count
    assert len(by_event) == 4 and len(sent) >= 4
    assert {event: len(instants) for event, instants in by_event.items()} == dict.fromkeys(
        by_event, 1
    )
    assert len({min(i) for i in by_event.values()}) == 4  # and each event its own instant


def test_replaying_the_same_input_makes_no_new_notification_ids(driver: WorkerTestDriver) -> None:
    """A retry or a replay of the same bytes: the same notifications again, under the
    same ids, with the same content (only when they were sent differs)."""
    raw = json.dumps(factories.incident()).encode()
    driver.send(POLICE_INCIDENTS, KEY, raw)
    once = notifications(driver)
    driver.send(POLICE_INCIDENTS, KEY, raw)
    twice = notifications(driver)
    assert once and len(twice) == 2 * len(once)
    assert {n.notification_id for n in twice} == {n.notification_id for n in once}

    def content(n: Notification) -> str:
        return n.model_dump_json(exclude={"produced_at", "incident_published_at"})

    assert {content(n) for n in twice} == {content(n) for n in once}
