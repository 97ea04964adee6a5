"""Audit record: why frontdoor did what it did with one incident (topic ``audit.decisions.v1``).

Ids, scores, rule names and field names only, never names or free text, so the audit
trail can be kept longer than the personal data it describes.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.enums import IncidentType, MatchDecision
from schemas.envelope import VERSION_PATTERN, DataQualityWarning, OutboundEvent
from schemas.notification import Recipient
from schemas.review import Candidate, ReviewEvidence


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
    match_path: str | None = Field(
        default=None,
        description="The safety gate's path the best candidate took (a closed list, e.g. "
        "'given name and date of birth'): what let an automatic link through, or what a "
        "pair sent to review for another reason already met. (1.2)",
    )
    match_why: list[str] = Field(
        default_factory=list,
        description="Why the child was not linked automatically, in the matcher's words "
        "(a closed list, e.g. 'runner-up too close'); empty for an automatic link. (1.2)",
    )
    rules_fired: list[str] = Field(default_factory=list)
    notifications: list[NotificationMade] = Field(default_factory=list)


class ReviewAudit(BaseModel):
    """Who settled a possible match, when, and on what evidence (staff ids, never emails)."""

    model_config = ConfigDict(extra="forbid")

    review_id: str
    decision: Literal["confirm", "reject"]
    decided_by: str
    approved_by: str | None = None
    decided_at: datetime
    evidence: ReviewEvidence | None = None


# Where in the pipeline a decision was made about a child.
AuditStage = Literal["routed", "review_decided", "rematched", "escalated"]


class AuditRecord(OutboundEvent):
    """One per incident child and decision point. (Version 1.1 added ``review``; 1.2 the
    match's ``match_path`` and ``match_why``.)"""

    event_type: Literal["audit_record"] = "audit_record"
    schema_version: str = Field(
        default="1.2", pattern=VERSION_PATTERN, description="<major>.<minor>; 1.2 here."
    )
    audit_id: str
    stage: AuditStage
    incident_event_id: str
    incident_reference: str
    police_source: str
    incident_type: IncidentType
    children_in_incident: int = Field(ge=1)
    child: ChildDecision
    reviewer: str | None = Field(default=None, description="Staff id, for review decisions.")
    review: ReviewAudit | None = Field(
        default=None, description="For review decisions: who, when, and the evidence shown."
    )
    data_quality: list[DataQualityWarning] = Field(default_factory=list)
