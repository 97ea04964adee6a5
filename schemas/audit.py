"""Audit record: why frontdoor did what it did with one incident (topic ``audit.decisions.v1``).

Ids, scores, rule names and field names only, never names or free text, so the audit
trail can be kept longer than the personal data it describes.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.enums import IncidentType, MatchDecision
from schemas.envelope import DataQualityWarning, OutboundEvent
from schemas.notification import Recipient
from schemas.review import Candidate


class NotificationMade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notification_id: str
    recipient: Recipient
    rules: list[str]
    fields_shared: list[str]


class ChildDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_reference: str
    decision: MatchDecision | None = None
    record_id: str | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    rules_fired: list[str] = Field(default_factory=list)
    notifications: list[NotificationMade] = Field(default_factory=list)


# Where in the pipeline a decision was made about a child.
AuditStage = Literal["routed", "review_decided", "rematched", "escalated"]


class AuditRecord(OutboundEvent):
    """One per incident child and decision point."""

    event_type: Literal["audit_record"] = "audit_record"
    audit_id: str
    stage: AuditStage
    incident_event_id: str
    incident_reference: str
    police_source: str
    incident_type: IncidentType
    children_in_incident: int = Field(ge=1)
    child: ChildDecision
    reviewer: str | None = Field(default=None, description="Staff id, for review decisions.")
    data_quality: list[DataQualityWarning] = Field(default_factory=list)
