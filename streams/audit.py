"""Audit records: ids, decisions and field names, never names or free text."""

from __future__ import annotations

from datetime import datetime

from schemas import AuditRecord, PoliceIncident
from schemas.audit import ChildDecision
from schemas.envelope import derived_id


def validated_audit(incident: PoliceIncident, now: datetime) -> AuditRecord:
    """The audit trail's first entry: the incident was valid, with what was dropped."""
    return AuditRecord(
        event_id=derived_id("aud", "validated", incident.source, incident.event_id),
        source="frontdoor",
        produced_at=now,
        audit_id=derived_id("aud", "validated", incident.source, incident.incident_reference),
        stage="validated",
        incident_event_id=incident.event_id,
        incident_reference=incident.incident_reference,
        police_source=incident.source,
        incident_type=incident.incident_type,
        children=[ChildDecision(person_reference=c.person_reference) for c in incident.children],
        data_quality=incident.data_quality,
    )
