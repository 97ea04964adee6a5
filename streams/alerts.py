"""Compliance alerts: one builder, deterministic ids, ids and numbers only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from schemas import ComplianceAlert
from schemas.compliance import AlertSubject
from schemas.enums import AlertKind
from schemas.envelope import derived_id
from streams.validation import FRONTDOOR_SOURCE


def compliance_alert(
    kind: AlertKind,
    subject_key: str,
    subject: AlertSubject,
    now: datetime,
    lateness: timedelta | None = None,
    deadline: datetime | None = None,
    **fields: Any,
) -> ComplianceAlert:
    """The alert for ``kind`` about ``subject_key``: the same subject always gets the same
    id, so a replay or a second check never raises a second alert."""
    alert_id = derived_id("alr", kind.value, subject_key)
    return ComplianceAlert(
        event_id=alert_id,
        source=FRONTDOOR_SOURCE,
        produced_at=now,
        alert_id=alert_id,
        kind=kind,
        subject=subject,
        observed_at=now,
        deadline=deadline,
        lateness_seconds=max(lateness.total_seconds(), 0.0) if lateness is not None else None,
        **fields,
    )
