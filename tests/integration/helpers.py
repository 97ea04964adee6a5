"""Publish events and read what the worker made, by condition and with timeouts."""

from __future__ import annotations

import json
from typing import Any

from schemas import AuditRecord, Notification
from streams import topics
from streams.settings import Settings
from streams.topic_io import consume, produce


def publish_records(settings: Settings, *records: dict[str, Any]) -> None:
    produce(
        settings,
        topics.CHILD_RECORDS,
        [
            (f"{r['council_code']}:{r['child_id']}".encode(), json.dumps(r).encode())
            for r in records
        ],
    )


def publish_incident(settings: Settings, incident: dict[str, Any]) -> None:
    key = f"{incident['source']}:{incident['incident_reference']}".encode()
    produce(settings, topics.POLICE_INCIDENTS, [(key, json.dumps(incident).encode())])


def audits(settings: Settings, count: int, linger_s: float = 0) -> list[AuditRecord]:
    return [
        AuditRecord.model_validate_json(m.value)
        for m in consume(settings, topics.AUDIT, count, linger_s=linger_s)
    ]


def notifications(settings: Settings, expected: int, linger_s: float = 1) -> list[Notification]:
    """Every notification on every agency topic, once ``expected`` have arrived."""
    found = consume(settings, list(topics.NOTIFY.values()), expected, linger_s=linger_s)
    return [Notification.model_validate_json(m.value) for m in found]


def by_recipient(found: list[Notification]) -> dict[str, Notification]:
    return {n.recipient.organisation: n for n in found}
