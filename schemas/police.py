"""Police incident involving children: the event police force systems publish."""

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.enums import ChildRole, Gender, IncidentType, RiskGrade
from schemas.envelope import (
    CODE_PATTERN,
    ID_PATTERN,
    KEY_PART_PATTERN,
    MAX_JSON_INT,
    PERSON_IDENTIFIER_CHECKS,
    DataQualityWarning,
    InboundEvent,
    Instant,
    Name,
    PlainText,
    WarningCode,
    drop_malformed,
)
from schemas.identifiers import NhsNumber, Postcode, SchoolUrn, normalise_postcode

_INCIDENT_CHECKS = {
    "location_postcode": (normalise_postcode, WarningCode.INVALID_POSTCODE),
}


class InvolvedChild(BaseModel):
    """A child named in an incident, as the force recorded them."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    person_reference: str = Field(
        pattern=ID_PATTERN, description="The force's own reference for this person."
    )
    role: ChildRole
    given_name: Name | None = None
    family_name: Name | None = None
    other_names: list[Name] = Field(default_factory=list, max_length=10)
    date_of_birth: date | None = None
    date_of_birth_approximate: bool = Field(
        default=False, description="True when the date was estimated (e.g. from stated age)."
    )
    gender: Gender = Gender.UNKNOWN
    address: PlainText | None = Field(default=None, max_length=300)
    postcode: Postcode | None = None
    home_council: str | None = Field(
        default=None,
        pattern=CODE_PATTERN,
        description="Code of the council the child lives in, if known.",
    )
    school_name: PlainText | None = Field(default=None, max_length=200)
    school_urn: SchoolUrn | None = None
    home_educated: bool = False
    nhs_number: NhsNumber | None = None


# Clocks disagree: an incident may appear to occur a little after it was recorded.
REPORT_CLOCK_SKEW = timedelta(minutes=5)


def incident_key(source: str, incident_reference: str) -> str:
    """``<force code>:<incident reference>``: the record key of an incident and of every
    event about it (possible matches, review decisions, audit records)."""
    return f"{source}:{incident_reference}"


class PoliceIncident(InboundEvent):
    """One incident that involves at least one child (topic ``police.incidents.v1``).

    ``source`` is the force code. Malformed optional identifiers (NHS number, postcode,
    school URN, date of birth) are dropped with a warning; the incident is kept.
    """

    event_type: Literal["police_incident"] = "police_incident"
    source: str = Field(pattern=CODE_PATTERN, description="The force code.")
    incident_reference: str = Field(pattern=KEY_PART_PATTERN)
    incident_type: IncidentType
    occurred_at: Instant
    reported_at: Instant = Field(description="When the officer recorded the incident.")
    risk_grade: RiskGrade = Field(description="DASH grade for domestic abuse (14+ ticks: high).")
    dash_ticks: int | None = Field(default=None, ge=0, le=27)
    sequence: int = Field(
        ge=0, le=MAX_JSON_INT, description="Per-source sequence number, for gap detection."
    )
    location_postcode: Postcode | None = None
    police_protection: bool = Field(default=False, description="Children Act 1989 s.46.")
    carer_arrested_no_safe_carer: bool = False
    injury: bool = False
    victim_pregnant: bool = False
    circumstances: str | None = Field(
        default=None, max_length=4000, description="Free text; sensitive, never logged."
    )
    officer_reference: str | None = Field(default=None, pattern=ID_PATTERN)
    adult_victim_safe_contact: PlainText | None = Field(
        default=None,
        max_length=300,
        description="How a domestic-abuse service may safely contact the adult victim.",
    )
    children: list[InvolvedChild] = Field(min_length=1, max_length=50)

    @property
    def key(self) -> str:
        return incident_key(self.source, self.incident_reference)

    @model_validator(mode="after")
    def _consistent(self) -> "PoliceIncident":
        if self.occurred_at > self.reported_at + REPORT_CLOCK_SKEW:
            raise ValueError(
                "occurred_at is after reported_at (by more than the 5 minutes allowed for "
                "clock skew)"
            )
        references = [c.person_reference for c in self.children]
        if len(set(references)) != len(references):
            raise ValueError("two children have the same person_reference")
        return self

    @classmethod
    def _drop_malformed_optionals(cls, data: dict[str, Any]) -> list[DataQualityWarning]:
        warnings = drop_malformed(data, _INCIDENT_CHECKS)
        children = data.get("children")
        if isinstance(children, list):
            cleaned = []
            for i, child in enumerate(children):
                if isinstance(child, dict):
                    child = dict(child)
                    warnings += drop_malformed(child, PERSON_IDENTIFIER_CHECKS, f"children[{i}].")
                cleaned.append(child)
            data["children"] = cleaned
        return warnings
