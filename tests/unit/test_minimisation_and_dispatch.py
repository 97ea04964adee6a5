"""Each agency gets only what it may see; notifications merge per recipient with stable ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas import ChildRecord, PoliceIncident
from schemas.enums import Agency, DeadlineClock
from schemas.notification import Recipient
from streams.routing import RuleHit, fields_shared, notifications, payload_for
from tests import factories

INCIDENT = PoliceIncident.model_validate(
    factories.incident(adult_victim_safe_contact="Call the refuge on the duty line")
)
CHILD = INCIDENT.children[0]
RECORD = ChildRecord.model_validate(factories.example("child-record"))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

NEVER = {
    Agency.SCHOOL: {
        "address",
        "postcode",
        "dash_ticks",
        "circumstances",
        "other_children",
        "nhs_number",
        "victim_safe_contact",
        "risk_grade",
    },
    Agency.HEALTH: {"circumstances", "officer_reference", "other_children", "address"},
    Agency.EARLY_HELP: {"circumstances", "officer_reference", "other_children", "dash_ticks"},
    Agency.DOMESTIC_ABUSE: {
        "given_name",
        "family_name",
        "date_of_birth",
        "child",
        "other_children",
        "address",
        "nhs_number",
    },
    Agency.YOUTH_JUSTICE: {"circumstances", "other_children", "address", "nhs_number"},
}


@pytest.mark.parametrize("agency", list(NEVER))
def test_no_agency_payload_can_hold_a_field_it_must_never_get(agency: Agency) -> None:
    payload = payload_for(agency, INCIDENT, CHILD, RECORD)
    assert not (NEVER[agency] & set(type(payload).model_fields))
    for forbidden in NEVER[agency]:
        with pytest.raises(ValueError):
            type(payload).model_validate({**payload.model_dump(), forbidden: "x"})


def test_the_school_gets_a_template_summary_never_the_officers_free_text() -> None:
    payload = payload_for(Agency.SCHOOL, INCIDENT, CHILD, RECORD)
    text = payload.model_dump_json()
    assert "kicked the door in" not in text and "14 Larkspur Row" not in text
    assert "Zebedee" in text and payload.child_present is True


def test_social_care_gets_everything_relevant() -> None:
    payload = payload_for(Agency.SOCIAL_CARE, INCIDENT, CHILD, RECORD)
    assert payload.circumstances == INCIDENT.circumstances
    assert [c.person_reference for c in payload.other_children] == ["MPS-P-2"]
    assert payload.council_child_id == "C-100"


def test_the_domestic_abuse_service_gets_the_safe_contact_and_a_count_of_children() -> None:
    payload = payload_for(Agency.DOMESTIC_ABUSE, INCIDENT, CHILD, RECORD)
    assert payload.victim_safe_contact == "Call the refuge on the duty line"
    assert payload.children_in_household == 2
    assert "victim_safe_contact" in fields_shared(payload)


def _hit(rule: str, organisation: str, hours: int, agency: Agency = Agency.SOCIAL_CARE) -> RuleHit:
    return RuleHit(
        rule,
        Recipient(agency=agency, organisation=organisation),
        NOW + timedelta(hours=hours),
        DeadlineClock.HOURS,
    )


def test_rules_naming_the_same_recipient_merge_with_the_earliest_deadline() -> None:
    made = notifications(
        INCIDENT,
        CHILD,
        RECORD,
        [
            _hit("R3", "E09000030:front-door", 24),
            _hit("R5", "E09000030:front-door", 4),
            _hit("R10", "E09000030:idva", 30, Agency.DOMESTIC_ABUSE),
        ],
        NOW,
    )
    assert [(n.recipient.organisation, n.rules) for n in made] == [
        ("E09000030:front-door", ["R3", "R5"]),
        ("E09000030:idva", ["R10"]),
    ]
    assert made[0].deadline == NOW + timedelta(hours=4)


def test_the_same_incident_child_and_recipient_always_give_the_same_id() -> None:
    hits = [_hit("R3", "E09000030:front-door", 24)]
    first = notifications(INCIDENT, CHILD, RECORD, hits, NOW)[0]
    later = notifications(
        INCIDENT, CHILD, None, [_hit("R5", "E09000030:front-door", 4)], NOW + timedelta(days=2)
    )[0]
    other_child = notifications(INCIDENT, INCIDENT.children[1], None, hits, NOW)[0]
    assert first.notification_id == later.notification_id != other_child.notification_id
