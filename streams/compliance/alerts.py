"""Compliance alerts: one builder, deterministic ids, ids and numbers only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from schemas import ComplianceAlert
from schemas.compliance import AlertSubject
from schemas.enums import AlertKind
from schemas.envelope import FRONTDOOR_SOURCE, derived_id

_RULES_JOINED_BY = "+"


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


def join_rules(rules: Iterable[str]) -> str | None:
    """An alert's ``rule`` field: every rule that named the recipient, e.g. ``R3+R5``."""
    return _RULES_JOINED_BY.join(rules) or None


def alert_rules(alert: ComplianceAlert) -> list[str]:
    """The rules an alert is about, one each (a missed ``R3+R5`` counts under both)."""
    return alert.rule.split(_RULES_JOINED_BY) if alert.rule else []
