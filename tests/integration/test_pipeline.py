"""The pipeline on the real broker with a real worker: the right notifications with the
right deadlines, the review loop, late records, tombstones and restarts. (That a replay
makes no new ids, and repeat escalation in any order, are the topology's behaviour, shown
on the in-process driver: tests/unit/test_worker_driver.py, test_repeat_escalation.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import AuditRecord, PossibleMatch
from streams import topics
from streams.settings import Settings
from streams.tools.platform.worker_process import wait_for
from streams.tools.synthetic import council
from streams.topics.io import consume, produce, read_all
from tests import factories
from tests.integration.conftest import StartWorker
from tests.integration.helpers import (
    audits,
    by_recipient,
    notifications,
    publish_incident,
    publish_records,
)

COUNCIL = "E09000030"
FRONT_DOOR = f"{COUNCIL}:front-door"
WORKER = f"{COUNCIL}:worker:SW-42"


def zebedee(**changes: Any) -> dict[str, Any]:
    return factories.example("child-record", **changes)


def incident(ref: str = "CAD-1", only_first: bool = False, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"risk_grade": "medium", "dash_ticks": 8, **changes}
    data = factories.incident(incident_reference=ref, event_id=f"evt-{ref}", **fields)
    if only_first:
        data["children"] = data["children"][:1]
    return data


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_an_incident_notifies_each_agency_with_the_right_rules_and_deadlines(
    settings: Settings, start: StartWorker
) -> None:
    publish_records(settings, zebedee())
    start()
    publish_incident(settings, incident())

    found = notifications(settings, 5)
    assert len(found) == 5
    zeb = by_recipient([n for n in found if n.person_reference == "MPS-P-1"])
    otto = by_recipient([n for n in found if n.person_reference == "MPS-P-2"])
    assert set(zeb) == {"urn:100000", FRONT_DOOR, WORKER}
    assert (zeb["urn:100000"].rules, zeb["urn:100000"].deadline) == (
        ["R1"],
        utc(2026, 11, 26, 8, 30),
    )
    assert (zeb[FRONT_DOOR].rules, zeb[FRONT_DOOR].deadline) == (
        ["R3", "R5"],
        utc(2026, 11, 26, 5, 15),
    )
    assert (zeb[WORKER].rules, zeb[WORKER].deadline) == (["R5"], utc(2026, 11, 26, 5, 15))
    assert set(otto) == {FRONT_DOOR, f"{COUNCIL}:early-help-hub"}
    assert (otto[FRONT_DOOR].rules, otto[FRONT_DOOR].deadline) == (
        ["R2", "R3"],
        utc(2026, 11, 26, 8, 30),
    )
    assert otto[f"{COUNCIL}:early-help-hub"].deadline == utc(2026, 12, 1, 17, 0)

    school = zeb["urn:100000"].payload.model_dump()
    assert school["given_name"] == "Zebedee"
    assert "address" not in school and "circumstances" not in school
    assert "kicked the door in" not in zeb["urn:100000"].model_dump_json()

    trail = {a.child.person_reference: a for a in audits(settings, 2)}
    assert trail["MPS-P-1"].child.decision == "auto"
    assert trail["MPS-P-1"].child.record_id == f"{COUNCIL}:C-100"
    assert trail["MPS-P-1"].child.rules_fired == ["R1", "R3", "R5"]
    assert trail["MPS-P-2"].child.decision == "none"
    assert "Zebedee" not in trail["MPS-P-1"].model_dump_json()


def test_a_possible_match_waits_for_a_person_then_routing_resumes(
    settings: Settings, start: StartWorker
) -> None:
    publish_records(settings, zebedee(date_of_birth="2016-02-27", nhs_number=None))
    start()
    publish_incident(
        settings,
        incident(
            only_first=True, children=[dict(factories.incident()["children"][0], nhs_number=None)]
        ),
    )

    (review_message,) = consume(settings, topics.REVIEW_MATCHES, 1)
    review = PossibleMatch.model_validate_json(review_message.value)
    assert review_message.key == b"MPS:CAD-1"
    assert [c.record_id for c in review.candidates] == [f"{COUNCIL}:C-100"]
    before = notifications(settings, 1)
    assert {n.recipient.organisation for n in before} == {FRONT_DOOR}  # no school, no worker

    decision = {
        "event_id": "dec-1",
        "source": COUNCIL,
        "produced_at": factories.NOW,
        "review_id": review.review_id,
        "decision": "confirm",
        "record_id": f"{COUNCIL}:C-100",
        "decided_by": "staff-9",
        "approved_by": "staff-7",  # four eyes: it tells a school and an allocated worker
        "decided_at": factories.NOW,
    }
    produce(
        settings, topics.REVIEW_DECISIONS, [(review_message.key, json.dumps(decision).encode())]
    )

    after = notifications(settings, 4)
    assert {n.recipient.organisation for n in after} == {FRONT_DOOR, "urn:100000", WORKER}
    front_door_ids = {n.notification_id for n in after if n.recipient.organisation == FRONT_DOOR}
    assert len(front_door_ids) == 1  # told again with the record, under the same id
    decided = [a for a in audits(settings, 2) if a.stage == "review_decided"]
    assert decided[0].reviewer == "staff-9"
    assert decided[0].child.record_id == f"{COUNCIL}:C-100"


def test_a_late_council_record_rematches_and_sends_what_now_applies(
    settings: Settings, start: StartWorker
) -> None:
    worker = start()
    publish_incident(settings, incident(only_first=True))
    first = notifications(settings, 3)
    assert {n.recipient.organisation for n in first} == {
        FRONT_DOOR,
        "urn:100000",
        f"{COUNCIL}:early-help-hub",
    }

    publish_records(settings, zebedee())
    later = notifications(settings, 5)
    organisations = [n.recipient.organisation for n in later]
    assert WORKER in organisations
    assert len({n.notification_id for n in later}) == 4  # front door and school not doubled
    rematched = [a for a in audits(settings, 2) if a.stage == "rematched"]
    assert rematched[0].child.decision == "auto"
    assert rematched[0].child.record_id == f"{COUNCIL}:C-100"
    assert worker.process.poll() is None


def test_a_tombstone_removes_the_child_from_matching(
    settings: Settings, start: StartWorker
) -> None:
    publish_records(settings, zebedee())
    worker = start()
    produce(settings, topics.CHILD_RECORDS, [(f"{COUNCIL}:C-100".encode(), None)])

    def replica_size() -> int | None:
        size = json.loads(worker.get("/health")[1])["replica"]["records"]
        return None if size else -1

    wait_for(replica_size, 30, "the tombstone to empty the replica")
    publish_incident(settings, incident(only_first=True))
    (audit,) = audits(settings, 1)
    assert audit.child.decision == "none"


@pytest.mark.parametrize("stop", ["clean", "killed"])
def test_a_restarted_worker_rebuilds_the_replica_and_keeps_waiting_children(
    settings: Settings, start: StartWorker, stop: str
) -> None:
    """A clean stop leaves snapshots (replica and tables) to resume from; a killed
    worker leaves none, and its successor rebuilds from the topics."""
    records = council(seed=3, size=300).records
    publish_records(settings, *records)
    first = start()
    assert json.loads(first.get("/health")[1])["replica"]["records"] == 300
    publish_incident(settings, incident(only_first=True))  # Zebedee is not known yet
    assert audits(settings, 1)[0].child.decision == "none"
    if stop == "clean":
        first.stop()
    else:
        first.process.kill()
        first.process.wait()
    snapshots = sorted(p.name for p in settings.state_dir.rglob("*.snapshot"))
    assert bool(snapshots) == (stop == "clean")

    second = start()
    health = json.loads(second.get("/health")[1])
    assert health["replica"] == {"records": 300, "caught_up": True}
    incidents = topics.topic_name(topics.POLICE_INCIDENTS, settings)

    def owns_every_partition() -> bool:
        status, body = second.get("/health")
        mine = [p for p in json.loads(body)["assigned_partitions"] if p.startswith(incidents)]
        return status == 200 and len(mine) == settings.partitions

    # A killed member stays in the group until its session times out; until then the
    # waiting incident's partition may be nobody's, and a record arriving then is only
    # noticed by the periodic sweep.
    wait_for(owns_every_partition, 120, "the restarted worker to own every partition")
    publish_records(settings, zebedee())  # arrives after the restart

    def linked() -> list[AuditRecord]:
        found = [
            AuditRecord.model_validate_json(r.value) for r in read_all(settings, [topics.AUDIT])
        ]
        return [a for a in found if a.child.record_id == f"{COUNCIL}:C-100"]

    found = wait_for(linked, 60, "the waiting child to be linked to the late record")
    if stop == "clean":
        assert [a.stage for a in found] == ["rematched"]
    else:
        # A killed worker may not have committed the incident: its successor routes it
        # again, and if the late record is in the replica by then, links it directly.
        assert {a.stage for a in found} <= {"rematched", "routed"}
