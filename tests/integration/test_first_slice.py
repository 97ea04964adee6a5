"""End-to-end on the real broker: valid incidents are audited, invalid ones dead-lettered,
and the worker keeps going."""

from __future__ import annotations

import base64
import json

from schemas import AuditRecord, DeadLetter
from schemas.envelope import WarningCode
from streams import topics
from streams.settings import Settings
from streams.tools.platform.worker_process import WorkerProcess, wait_for
from streams.topics.io import consume, produce
from tests import factories


def _metric(body: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_valid_incident_is_audited_and_invalid_ones_reach_the_dead_letter_topic(
    settings: Settings, worker: WorkerProcess
) -> None:
    valid = factories.incident_child(0, nhs_number="9434765918")  # bad check digit: warning
    invalid = {
        b"bad-json": b'{"event_id": "x", ',
        b"missing": json.dumps({"event_id": "x2", "source": "MPS"}).encode(),
        b"wrong-types": json.dumps(factories.incident(sequence="forty", children="none")).encode(),
    }
    produce(
        settings,
        topics.POLICE_INCIDENTS,
        [(b"MPS:CAD-2026-000123", json.dumps(valid).encode()), *invalid.items()],
    )

    audited = consume(settings, topics.AUDIT, 2, linger_s=1)
    assert len(audited) == 2  # one per child
    records = [AuditRecord.model_validate_json(m.value) for m in audited]
    assert {r.incident_reference for r in records} == {"CAD-2026-000123"}
    assert {r.child.person_reference for r in records} == {"MPS-P-1", "MPS-P-2"}
    assert [(w.field, w.code) for w in records[0].data_quality] == [
        ("children[0].nhs_number", WarningCode.INVALID_NHS_NUMBER)
    ]
    assert {m.key for m in audited} == {b"MPS:CAD-2026-000123"}

    letters = consume(settings, topics.DEAD_LETTERS, 3, linger_s=1)
    assert len(letters) == 3
    by_key = {m.key: DeadLetter.model_validate_json(m.value) for m in letters}
    assert set(by_key) == set(invalid)
    for key, letter in by_key.items():
        assert base64.b64decode(letter.original_value_b64) == invalid[key]
        assert letter.original_topic == f"{settings.topic_prefix}police.incidents.v1"
        assert letter.reasons
    assert by_key[b"bad-json"].reason_class == "not_json"
    assert {r.location for r in by_key[b"missing"].reasons} >= {"produced_at", "children"}
    assert {r.location for r in by_key[b"wrong-types"].reasons} == {"sequence", "children"}

    # The worker is still running and still processing.
    later = factories.incident(event_id="mps-evt-0002", incident_reference="CAD-2026-000124")
    produce(
        settings, topics.POLICE_INCIDENTS, [(b"MPS:CAD-2026-000124", json.dumps(later).encode())]
    )
    assert len(consume(settings, topics.AUDIT, 4)) == 4
    assert worker.process.poll() is None

    def metrics_counted() -> str | None:
        status, body = worker.get("/metrics")
        text = body.decode()
        done = _metric(text, "frontdoor_incidents_received_total") >= 2
        return text if status == 200 and done else None

    text = wait_for(metrics_counted, 30, "the metrics to count both valid incidents")
    reread = [line for line in worker.log().splitlines() if "again" in line]
    counted = _metric(text, "frontdoor_incidents_received_total")
    assert counted == 2, f"{counted} incidents counted; the worker read again: {reread}"
    assert _metric(text, "frontdoor_incidents_received_total", incident_type="domestic_abuse") == 2
    assert _metric(text, "frontdoor_invalid_events_total", reason="schema") == 2
    assert _metric(text, "frontdoor_invalid_events_total", reason="not_json") == 1
    assert _metric(text, "frontdoor_data_quality_warnings_total", code="invalid_nhs_number") == 1

    for value in factories.PERSONAL_VALUES:
        assert value not in text, "personal data in /metrics"
        assert value not in worker.log(), "personal data in the worker's log"


def test_health_reports_the_partitions_this_worker_owns(
    settings: Settings, worker: WorkerProcess
) -> None:
    status, body = worker.get("/health")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ready"
    incidents_topic = f"{settings.topic_prefix}police.incidents.v1"
    assert {f"{incidents_topic}:0", f"{incidents_topic}:1"} <= set(health["assigned_partitions"])
    assert health["replica"] == {"records": 0, "caught_up": True}
