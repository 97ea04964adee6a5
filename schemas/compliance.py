"""Compliance alert: something a person must act on (topic ``compliance.alerts.v1``).

Alerts carry ids and closed-list values only, never names or free text.
"""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.enums import Agency, AlertKind, IncidentType
from schemas.envelope import VERSION_PATTERN, OutboundEvent


class AlertSubject(BaseModel):
    """Ids that say what the alert is about; whichever apply to the kind."""

    model_config = ConfigDict(extra="forbid")

    notification_id: str | None = None
    incident_reference: str | None = None
    police_source: str | None = Field(
        default=None, description="The force: on every alert that concerns an incident."
    )
    person_reference: str | None = Field(
        default=None,
        description="The force's reference for the child (never a name), when the alert "
        "concerns one child.",
    )
    review_id: str | None = None
    organisation: str | None = Field(
        default=None,
        description="undeliverable: the recipient organisation (a school's URN, a team).",
    )
    sequence_from: int | None = Field(default=None, ge=0)
    sequence_to: int | None = Field(default=None, ge=0)


class ComplianceAlert(OutboundEvent):
    """Version 1.1 added ``subject.person_reference``, ``sent_at``, ``sent_past_deadline``
    and the ``late_to_frontdoor`` kind; 1.2 the ``undeliverable`` kind (the gateway gave
    up pushing a notification to the recipient's webhook) and ``subject.organisation``."""

    event_type: Literal["compliance_alert"] = "compliance_alert"
    schema_version: str = Field(
        default="1.2", pattern=VERSION_PATTERN, description="<major>.<minor>; 1.2 here."
    )
    alert_id: str = Field(description="Deterministic: one alert per subject and kind.")
    kind: AlertKind
    subject: AlertSubject
    agency: Agency | None = None
    rule: str | None = None
    incident_type: IncidentType | None = None
    deadline: AwareDatetime | None = None
    observed_at: AwareDatetime
    lateness_seconds: float | None = Field(default=None, ge=0)
    sent_at: AwareDatetime | None = Field(
        default=None,
        description="missed / late: when frontdoor first sent the notification.",
    )
    sent_past_deadline: bool | None = Field(
        default=None,
        description="missed / late: true when the notification was already past its "
        "deadline when frontdoor sent it (the incident reached frontdoor late): the delay "
        "is upstream of the agency.",
    )
