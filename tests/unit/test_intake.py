"""Each party's own topic, in-process: a force's incidents and an agency's
acknowledgements are forwarded when they speak for that party, dead-lettered
(``provenance``) when they do not."""

from __future__ import annotations

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
)
from schemas.enums import Agency, AlertKind
from streams.topics import (
    ACKS,
    AGENCY_ACKS,
    AUDIT,
    COMPLIANCE_ALERTS,
    DEAD_LETTERS,
    NOTIFY,
    POLICE_INCIDENTS,
    SEQUENCES,
    force_incidents,
)
from streams.worker import WorkerTestDriver
from streams.worker.agents.police import SIGNALLED
from tests import factories

NOW = datetime(2026, 11, 26, 1, 20, tzinfo=UTC)
KEY = "MPS:CAD-2026-000123"


@pytest.fixture
def driver() -> Iterator[WorkerTestDriver]:
    record = ChildRecord.model_validate(factories.example("child-record"))
    with WorkerTestDriver(NOW, records=[record]) as running:
        yield running


def letters(driver: WorkerTestDriver) -> list[DeadLetter]:
    return [s.model(DeadLetter) for s in driver.sent_to(DEAD_LETTERS)]


def ack(notification: Notification, agency: str, **changes: Any) -> Acknowledgement:
    return Acknowledgement.model_validate(
        factories.example(
            "acknowledgement",
            notification_id=notification.notification_id,
            agency=agency,
            acknowledged_at=(NOW + timedelta(minutes=30)).isoformat(),
            **changes,
        )
    )


def test_a_forces_incident_on_its_own_topic_is_forwarded_unchanged_and_routed(
    driver: WorkerTestDriver,
) -> None:
    raw = json.dumps(factories.incident()).encode()
    driver.send(force_incidents("MPS"), "anything", raw, published_at=NOW)

    (forwarded,) = driver.sent_to(POLICE_INCIDENTS)
    assert forwarded.value == raw  # the bytes the force sent
    assert forwarded.key == KEY.encode()  # keyed by the incident, whatever key it came with
    assert forwarded.timestamp == NOW.timestamp()  # when the force published it
    audits = [s.model(AuditRecord) for s in driver.sent_to(AUDIT)]
    assert {a.child.person_reference for a in audits} == {"MPS-P-1", "MPS-P-2"}
    assert not letters(driver)


def test_a_forces_incident_is_judged_for_police_signals_once_at_the_intake(
    driver: WorkerTestDriver,
) -> None:
    """Held back three hours by the force: one late-to-frontdoor alert and its number seen
    once, both from the intake (the forwarded incident says so; the incidents agent, which
    matches and routes it, leaves them be)."""
    data = factories.incident(
        occurred_at=(NOW - timedelta(hours=4)).isoformat(),
        reported_at=(NOW - timedelta(hours=3)).isoformat(),
    )
    driver.send(force_incidents("MPS"), KEY, json.dumps(data).encode(), published_at=NOW)

    (forwarded,) = driver.sent_to(POLICE_INCIDENTS)
    assert forwarded.headers == SIGNALLED
    alerts = [s.model(ComplianceAlert) for s in driver.sent_to(COMPLIANCE_ALERTS)]
    (late,) = [a for a in alerts if a.kind is AlertKind.LATE_TO_FRONTDOOR]
    assert late.lateness_seconds == 2 * 3600
    assert driver.sent.index(driver.sent_to(COMPLIANCE_ALERTS)[0]) < driver.sent.index(forwarded)
    seen = [i for s in driver.sent_to(SEQUENCES) for i in json.loads(s.value or b"")["items"]]
    assert [i["sequence"] for i in seen if i.get("sequence") is not None] == [41]


def test_an_incident_naming_another_force_is_dead_lettered_not_forwarded(
    driver: WorkerTestDriver,
) -> None:
    as_mps = json.dumps(factories.incident()).encode()  # source MPS
    driver.send(force_incidents("KENT"), KEY, as_mps)

    (letter,) = letters(driver)
    assert letter.reason_class == "provenance"
    assert letter.original_topic == "police.KENT.incidents.v1"
    assert [r.error_type for r in letter.reasons] == ["not_this_topics_force"]
    assert not driver.sent_to(POLICE_INCIDENTS) and not driver.sent_to(AUDIT)


def test_an_invalid_incident_on_a_forces_topic_is_dead_lettered_there(
    driver: WorkerTestDriver,
) -> None:
    driver.send(force_incidents("MPS"), KEY, json.dumps(factories.incident(children=[])).encode())

    (letter,) = letters(driver)
    assert letter.reason_class == "schema"
    assert letter.original_topic == "police.MPS.incidents.v1"
    assert not driver.sent_to(POLICE_INCIDENTS)


def test_an_invalid_incident_on_a_forces_topic_still_counts_its_sequence_number(
    driver: WorkerTestDriver,
) -> None:
    """Numbers 1 and 3 valid, 2 invalid but readable: no gap, however long one waits; a
    number in an incident naming another force does not count for this one."""
    for n, changes in ((1, {}), (2, {"children": []}), (3, {})):
        data = factories.incident(sequence=n, incident_reference=f"CAD-{n}", **changes)
        driver.send(force_incidents("MPS"), f"MPS:CAD-{n}", json.dumps(data).encode())
    kent = factories.incident(source="KENT", sequence=7, children=[])
    driver.send(force_incidents("MPS"), "KENT:X", json.dumps(kent).encode())
    driver.advance(timedelta(hours=2))  # past the 30 min gap window

    assert not [s for s in driver.sent_to(COMPLIANCE_ALERTS) if b"sequence_gap" in s.value]
    state = json.loads(driver.table("sequences")[b"MPS"])
    assert (state["lowest"], state["highest"], state["gaps"]) == (1, 3, [])
    assert b"KENT" not in driver.table("sequences")


def test_acknowledgements_count_only_from_the_recipient_on_its_own_topic(
    driver: WorkerTestDriver,
) -> None:
    driver.send(force_incidents("MPS"), KEY, json.dumps(factories.incident()).encode())
    sent = [s.model(Notification) for spec in NOTIFY.values() for s in driver.sent_to(spec)]
    school = next(n for n in sent if n.recipient.agency == Agency.SCHOOL)
    social_care = next(n for n in sent if n.recipient.agency == Agency.SOCIAL_CARE)

    # On the school's topic, claiming to be social care: refused at intake.
    driver.send(
        AGENCY_ACKS[Agency.SCHOOL], social_care.notification_id, ack(social_care, "social_care")
    )
    # The school acknowledging social care's notification: refused by the deadline tracker.
    driver.send(AGENCY_ACKS[Agency.SCHOOL], social_care.notification_id, ack(social_care, "school"))
    # The school acknowledging its own: counts.
    driver.send(AGENCY_ACKS[Agency.SCHOOL], school.notification_id, ack(school, "school"))

    refused = letters(driver)
    assert [(d.reason_class, d.reasons[0].error_type) for d in refused] == [
        ("provenance", "not_this_topics_agency"),
        ("provenance", "not_the_recipient"),
    ]
    assert [d.original_topic for d in refused] == ["notify.school.acks.v1", "notify.acks.v1"]
    forwarded = [s.model(Acknowledgement) for s in driver.sent_to(ACKS)]
    assert [a.notification_id for a in forwarded] == [
        social_care.notification_id,
        school.notification_id,
    ]
    held = {k.decode(): json.loads(v) for k, v in driver.table("deadlines").items()}
    assert held[social_care.notification_id]["acked_at"] is None
    assert held[school.notification_id]["acked_at"] is not None
