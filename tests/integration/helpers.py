"""Publish events and read what the worker made, by condition and with timeouts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas import AuditRecord, Notification
from streams import topics
from streams.routing import default_policy_text
from streams.settings import Settings
from streams.topics.io import consume, produce
from tests import factories


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


def notifications(
    settings: Settings, expected: int, linger_s: float = 1, timeout_s: float = 60
) -> list[Notification]:
    """Every notification on every agency topic, once ``expected`` have arrived."""
    found = consume(settings, list(topics.NOTIFY.values()), expected, timeout_s, linger_s)
    return [Notification.model_validate_json(m.value) for m in found]


def by_recipient(found: list[Notification]) -> dict[str, Notification]:
    return {n.recipient.organisation: n for n in found}


DEADLINE_HOURS = 0.004  # 14.4 s: a front-door notification due soon after the report


def compliance_policy(tmp_path: Path) -> Path:
    """Only R3 (front door), due 14.4 s after the report; gaps alert after 6 s; no R12."""
    text = default_policy_text()
    rules_start = text.index("rules:\n")
    rules_end = text.index("# R11:")
    rule = (
        "rules:\n  - id: R3\n    description: front door, soon\n    when: {}\n"
        "    notify:\n      - {agency: social_care, to: front_door}\n"
        f"    deadline: {{clock: hours, amount: {DEADLINE_HOURS}}}\n\n"
    )
    text = text[:rules_start] + rule + text[rules_end:]
    text = text.replace("sequence_gap_minutes: 30", "sequence_gap_minutes: 0.1")
    text = text.replace(
        "repeat_rule:\n  id: R12\n  enabled: true", "repeat_rule:\n  id: R12\n  enabled: false"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def incident(ref: str, sequence: int, occurred: datetime, reported: datetime) -> dict[str, Any]:
    data = factories.incident(
        incident_reference=ref,
        event_id=f"evt-{ref}",
        sequence=sequence,
        occurred_at=occurred.isoformat(),
        reported_at=reported.isoformat(),
        risk_grade="standard",
        dash_ticks=None,
    )
    data["children"] = data["children"][:1]
    return data


def acknowledge(settings: Settings, notification: Notification, at: datetime) -> None:
    acknowledge_all(settings, [notification], at)


def acknowledge_all(
    settings: Settings, sent: list[Notification], at: datetime | None = None
) -> None:
    """As each recipient would, in one publish: at ``at``, or now."""
    items = []
    for n in sent:
        when = at or datetime.now(UTC)
        ack = factories.example(
            "acknowledgement",
            notification_id=n.notification_id,
            agency=n.recipient.agency.value,
            organisation=n.recipient.organisation,
            acknowledged_at=when.isoformat(),
            event_id=f"ack-{n.notification_id}-{when.timestamp()}",
        )
        items.append((n.notification_id.encode(), json.dumps(ack).encode()))
    produce(settings, topics.ACKS, items)
