"""What each agency may see (DOMAIN.md §6), built from the incident. Pure.

Each agency has its own payload model with unknown fields forbidden, so a field an
agency must never get cannot be added here by accident. Summaries are fixed templates,
never the officer's free text, which may name other people or places.
"""

from __future__ import annotations

from schemas import ChildRecord, InvolvedChild, PoliceIncident
from schemas.enums import Agency, ChildRole, ChildStatus, IncidentType
from schemas.notification import (
    DomesticAbusePayload,
    EarlyHelpPayload,
    HealthPayload,
    SchoolPayload,
    SocialCarePayload,
    YouthJusticePayload,
)

Payload = (
    SocialCarePayload
    | SchoolPayload
    | HealthPayload
    | EarlyHelpPayload
    | DomesticAbusePayload
    | YouthJusticePayload
)

_SUMMARY = {
    IncidentType.DOMESTIC_ABUSE: "Police attended a domestic abuse incident at the child's home.",
    IncidentType.MISSING_CHILD: "The child was reported missing to the police.",
    IncidentType.ARREST_OR_DETENTION: "The child was arrested or detained by the police.",
    IncidentType.POLICE_PROTECTION: "The child was taken into police protection.",
    IncidentType.VIOLENCE_OR_INJURY: "The child was involved in an incident of violence.",
    IncidentType.SEXUAL_OFFENCE: "The child was involved in a reported sexual offence.",
    IncidentType.EXPLOITATION: "Police have concerns about the child's exploitation.",
    IncidentType.NEGLECT: "Police have concerns about neglect of the child.",
    IncidentType.ONLINE_HARM: "Police have concerns about harm to the child online.",
    IncidentType.CONCERN_FOR_WELFARE: "Police have a concern for the child's welfare.",
    IncidentType.OTHER: "The child came to police notice.",
}


def summary(incident_type: IncidentType) -> str:
    return _SUMMARY[incident_type]


def payload_for(
    agency: Agency, incident: PoliceIncident, child: InvolvedChild, record: ChildRecord | None
) -> Payload:
    common = {
        "incident_reference": incident.incident_reference,
        "incident_type": incident.incident_type,
        "occurred_at": incident.occurred_at,
    }
    person = {
        "given_name": child.given_name,
        "family_name": child.family_name,
        "date_of_birth": child.date_of_birth or (record.date_of_birth if record else None),
    }
    status = record.status if record is not None else None
    match agency:
        case Agency.SOCIAL_CARE:
            return SocialCarePayload(
                **common,
                reported_at=incident.reported_at,
                risk_grade=incident.risk_grade,
                dash_ticks=incident.dash_ticks,
                location_postcode=incident.location_postcode,
                police_protection=incident.police_protection,
                carer_arrested_no_safe_carer=incident.carer_arrested_no_safe_carer,
                injury=incident.injury,
                victim_pregnant=incident.victim_pregnant,
                circumstances=incident.circumstances,
                officer_reference=incident.officer_reference,
                child=child,
                other_children=[c for c in incident.children if c is not child],
                council_child_id=record.child_id if record else None,
                child_status=status,
            )
        case Agency.SCHOOL:
            return SchoolPayload(
                **common,
                **person,
                child_present=child.role is not ChildRole.RESIDENT_NOT_PRESENT,
                brief_circumstances=summary(incident.incident_type),
            )
        case Agency.HEALTH:
            return HealthPayload(
                **common,
                **person,
                nhs_number=child.nhs_number or (record.nhs_number if record else None),
                injury=incident.injury,
                victim_pregnant=incident.victim_pregnant,
                risk_grade=incident.risk_grade,
                child_status=status,
            )
        case Agency.EARLY_HELP:
            return EarlyHelpPayload(
                **common,
                **person,
                family_address=child.address,
                family_postcode=child.postcode,
                needs_summary=summary(incident.incident_type),
            )
        case Agency.DOMESTIC_ABUSE:
            return DomesticAbusePayload(
                **common,
                victim_safe_contact=incident.adult_victim_safe_contact,
                risk_grade=incident.risk_grade,
                dash_ticks=incident.dash_ticks,
                children_in_household=len(incident.children),
            )
        case Agency.YOUTH_JUSTICE:
            return YouthJusticePayload(
                **common, **person, looked_after=status is ChildStatus.LOOKED_AFTER
            )
    raise ValueError(f"no payload model for agency {agency}")


def fields_shared(payload: Payload) -> list[str]:
    """Names of the fields that carry a value: what the audit records as shared."""
    return sorted(
        name
        for name, value in payload.model_dump(exclude={"kind"}).items()
        if value not in (None, [], False)
    )
