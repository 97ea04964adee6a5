"""Hostile messages in one batch with valid incidents, through a real worker: every valid
incident is audited, every hostile one dead-lettered, and the worker stays ready."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas import AuditRecord, DeadLetter
from streams import topics
from streams.operations import verify
from streams.settings import Settings
from streams.tools.platform.worker_process import WorkerProcess, wait_for
from streams.topics.io import consume, produce
from tests import factories
from tests.integration.conftest import StartWorker

KEY = b"MPS:ONE-PARTITION"  # one key: one partition, one batch, in this order


def valid(n: int) -> bytes:
    data = factories.incident(incident_reference=f"CAD-OK-{n}", event_id=f"evt-ok-{n}", sequence=n)
    data["children"] = data["children"][:1]
    return json.dumps(data).encode()


def extra(fragment: bytes) -> bytes:
    return valid(99)[:-1] + b", " + fragment + b"}"


def hostile() -> list[bytes]:
    twins = factories.incident()
    twins["children"][1]["person_reference"] = twins["children"][0]["person_reference"]
    return [
        extra(b'"extra": ' + b"[" * 1000 + b"]" * 1000),  # deep nesting
        extra(b'"extra": ' + b"7" * 4301),  # past Python's int digit limit
        extra(b'"ex\xed\xa0\x80tra": 1'),  # a key with an encoded surrogate
        extra(b'"extra": "' + b"x" * 800_000 + b'"'),  # too large
        json.dumps(factories.incident()).encode("utf-16"),
        extra(b'"risk_grade": "standard"'),  # a duplicate key
        json.dumps(twins).encode(),  # one person reference twice
        valid(98).replace(b'"Zebedee"', b'"Zeb\\ud800"'),  # a lone surrogate escape
    ]


def test_one_batch_of_hostile_and_valid_incidents_loses_nothing(
    settings: Settings, start: StartWorker
) -> None:
    poison = hostile()
    events = []
    for n in range(12):
        events.append((KEY, valid(n)))
        if n < len(poison):
            events.append((KEY, poison[n]))
    produce(settings, topics.POLICE_INCIDENTS, events)
    worker: WorkerProcess = start()

    audited = [
        AuditRecord.model_validate_json(m.value) for m in consume(settings, topics.AUDIT, 12)
    ]
    letters = [
        DeadLetter.model_validate_json(m.value)
        for m in consume(settings, topics.DEAD_LETTERS, len(poison), linger_s=2)
    ]

    assert sorted(a.incident_reference for a in audited) == sorted(f"CAD-OK-{n}" for n in range(12))
    assert len(letters) == len(poison)
    assert {d.reason_class for d in letters} == {"not_json", "too_large", "schema"}
    assert worker.ready()
    status, body = worker.get("/metrics")
    assert status == 200 and b"frontdoor_processing_errors_total{" not in body  # none failed


def test_verify_accounts_for_every_incident_and_names_one_that_is_not(
    settings: Settings, start: StartWorker
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    produce(
        settings,
        topics.POLICE_INCIDENTS,
        [(KEY, valid(1)), (KEY, b"not json"), (KEY, valid(2))],
    )
    worker = start()
    consume(settings, topics.AUDIT, 2)
    consume(settings, topics.DEAD_LETTERS, 1)
    until = datetime.now(UTC) + timedelta(minutes=1)
    wait_for(lambda: verify.collect(settings, since, until).complete, 30, "every incident settled")
    worker.stop()

    produce(settings, topics.POLICE_INCIDENTS, [(b"MPS:CAD-LATE", valid(3))])  # no worker now
    result = verify.collect(settings, since, until)
    assert (result.arrived, result.audited, result.dead_lettered) == (4, 2, 1)
    assert [u.arrival.key for u in result.unaccounted] == ["MPS:CAD-LATE"]
    assert "INCIDENTS UNACCOUNTED FOR" in verify.render(result, since, until)
