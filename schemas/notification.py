"""Notification to one recipient about one child in one incident.

The payload is a separate model per agency (DOMAIN.md §6) with unknown fields
forbidden, so a field an agency must never see cannot be present in what it gets.
"""

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.enums import (
    Agency,
    ChildStatus,
    DeadlineClock,
    IncidentType,
    RiskGrade,
)
from schemas.envelope import ID_PATTERN, VERSION_PATTERN, OutboundEvent, derived_id
from schemas.police import InvolvedChild


@lru_cache(maxsize=4096)  # a what-if asks for the same ids under each policy in turn
def notification_id(
    source: str, incident_reference: str, person_reference: str, agency: Agency, organisation: str
) -> str:
    """The same incident, child and recipient always give the same id (retries never double)."""
    return derived_id(
        "ntf", source, incident_reference, person_reference, agency.value, organisation
    )


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    incident_reference: str
    incident_type: IncidentType
    occurred_at: AwareDatetime


class SocialCarePayload(_Payload):
    """Front door / allocated worker / another council: everything relevant."""

    kind: Literal["social_care"] = "social_care"
    reported_at: AwareDatetime
    risk_grade: RiskGrade
    dash_ticks: int | None = None
    location_postcode: str | None = None
    police_protection: bool = False
    carer_arrested_no_safe_carer: bool = False
    injury: bool = False
    victim_pregnant: bool = False
    circumstances: str | None = None
    officer_reference: str | None = None
    child: InvolvedChild
    other_children: list[InvolvedChild] = Field(default_factory=list)
    council_child_id: str | None = None
    child_status: ChildStatus | None = None


class SchoolPayload(_Payload):
    """Operation Encompass: never an address, DASH answers, siblings or adults' history."""

    kind: Literal["school"] = "school"
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    child_present: bool
    brief_circumstances: str | None = Field(default=None, max_length=500)


class HealthPayload(_Payload):
    kind: Literal["health"] = "health"
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    nhs_number: str | None = None
    injury: bool = False
    victim_pregnant: bool = False
    risk_grade: RiskGrade
    child_status: ChildStatus | None = None


class EarlyHelpPayload(_Payload):
    kind: Literal["early_help"] = "early_help"
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    family_address: str | None = None
    family_postcode: str | None = None
    needs_summary: str | None = Field(default=None, max_length=500)
    consent_status: Literal["given", "refused", "not_sought"] = "not_sought"


class DomesticAbusePayload(_Payload):
    kind: Literal["domestic_abuse"] = "domestic_abuse"
    victim_safe_contact: str | None = None
    risk_grade: RiskGrade
    dash_ticks: int | None = None
    children_in_household: int = Field(ge=0)


class YouthJusticePayload(_Payload):
    kind: Literal["youth_justice"] = "youth_justice"
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    looked_after: bool = False


Payload = Annotated[
    SocialCarePayload
    | SchoolPayload
    | HealthPayload
    | EarlyHelpPayload
    | DomesticAbusePayload
    | YouthJusticePayload,
    Field(discriminator="kind"),
]


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: Agency
    organisation: str = Field(
        pattern=ID_PATTERN,
        description="e.g. 'urn:123456' for a school, 'E09000033:front-door', 'E09000033:team:CP2'.",
    )


class Notification(OutboundEvent):
    """Topic ``notify.<agency>.v1``; key is ``notification_id``.

    The same incident, child and recipient always give the same ``notification_id``, so
    a retry or a replay repeats a notification, identical, and never makes a second one.
    When a later decision about the child (a reviewer's, or a council record that
    arrived) changes what a recipient is told, the notification is sent again under the
    same id with the next ``revision``: keep the highest. (Version 1.1 added
    ``revision``.)
    """

    event_type: Literal["notification"] = "notification"
    schema_version: str = Field(
        default="1.1", pattern=VERSION_PATTERN, description="<major>.<minor>; 1.1 here."
    )
    notification_id: str = Field(pattern=r"^ntf-[0-9a-f-]{36}$")
    revision: int = Field(
        default=0,
        ge=0,
        description="0 when first sent; one more each time a later decision about the "
        "child re-sends it with new content.",
    )
    incident_reference: str
    person_reference: str
    recipient: Recipient
    rules: list[str] = Field(min_length=1, description="Every rule that named this recipient.")
    deadline: AwareDatetime
    deadline_clock: DeadlineClock
    incident_published_at: datetime | None = None
    payload: Payload

    @model_validator(mode="after")
    def _payload_matches_agency(self) -> "Notification":
        if self.payload.kind != self.recipient.agency.value:
            raise ValueError(
                f"payload kind {self.payload.kind!r} does not match recipient agency "
                f"{self.recipient.agency.value!r}"
            )
        return self
