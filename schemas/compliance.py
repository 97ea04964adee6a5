"""Compliance alert: something a person must act on (topic ``compliance.alerts.v1``).

Alerts carry ids and closed-list values only, never names or free text.
"""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.enums import Agency, AlertKind, IncidentType
from schemas.envelope import OutboundEvent


class AlertSubject(BaseModel):
    """Ids that say what the alert is about; whichever apply to the kind."""

    model_config = ConfigDict(extra="forbid")

    notification_id: str | None = None
    incident_reference: str | None = None
    police_source: str | None = None
    review_id: str | None = None
    sequence_from: int | None = Field(default=None, ge=0)
    sequence_to: int | None = Field(default=None, ge=0)


class ComplianceAlert(OutboundEvent):
    event_type: Literal["compliance_alert"] = "compliance_alert"
    alert_id: str = Field(description="Deterministic: one alert per subject and kind.")
    kind: AlertKind
    subject: AlertSubject
    agency: Agency | None = None
    rule: str | None = None
    incident_type: IncidentType | None = None
    deadline: AwareDatetime | None = None
    observed_at: AwareDatetime
    lateness_seconds: float | None = Field(default=None, ge=0)
