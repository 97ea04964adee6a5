"""Valid and invalid examples for every event in DOMAIN.md §3."""

from datetime import date

import pytest
from pydantic import ValidationError

from schemas import (
    Acknowledgement,
    ChildRecord,
    ChildRecordDeleted,
    Notification,
    PoliceIncident,
    ReviewDecision,
)
from schemas.envelope import WarningCode
from streams.tools.generators.contracts import EVENTS
from tests import factories


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_event_has_a_valid_example(name: str) -> None:
    event = EVENTS[name].model_validate(factories.example(name))
    expected = EVENTS[name].model_fields["schema_version"].default
    assert event.schema_version == expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_a_naive_datetime_is_an_error_that_says_so(name: str) -> None:
    data = factories.example(name, produced_at="2026-11-26T10:00:00")
    with pytest.raises(ValidationError) as info:
        EVENTS[name].model_validate(data)
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("produced_at",)]
    assert errors[0]["type"] == "timezone_aware"
    assert "timezone" in errors[0]["msg"]


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_a_missing_envelope_field_is_invalid(name: str) -> None:
    data = factories.example(name)
    del data["event_id"]
    with pytest.raises(ValidationError) as info:
        EVENTS[name].model_validate(data)
    assert info.value.errors()[0]["loc"] == ("event_id",)


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_another_major_schema_version_is_invalid_but_a_newer_minor_is_accepted(
    name: str,
) -> None:
    model = EVENTS[name]
    assert model.model_validate(factories.example(name, schema_version="1.7"))
    with pytest.raises(ValidationError, match="schema_version major 2 is not supported"):
        model.model_validate(factories.example(name, schema_version="2.0"))


def test_incident_normalises_postcodes_and_nhs_numbers() -> None:
    incident = PoliceIncident.model_validate(factories.incident())
    assert incident.location_postcode == "SW1A 1AA"
    assert incident.children[0].postcode == "E1 6AN"
    assert incident.children[0].nhs_number == "9434765919"
    assert incident.data_quality == []


@pytest.mark.parametrize(
    ("field", "bad", "code"),
    [
        ("nhs_number", "9434765918", WarningCode.INVALID_NHS_NUMBER),
        ("postcode", "E1 6A", WarningCode.INVALID_POSTCODE),
        ("school_urn", "12", WarningCode.INVALID_SCHOOL_URN),
        ("date_of_birth", "2016-02-30", WarningCode.INVALID_DATE_OF_BIRTH),
        ("nhs_number", 9434765919, WarningCode.INVALID_NHS_NUMBER),
    ],
)
def test_a_malformed_optional_identifier_is_dropped_with_a_warning_not_rejected(
    field: str, bad: object, code: WarningCode
) -> None:
    incident = PoliceIncident.model_validate(factories.incident_child(0, **{field: bad}))
    assert getattr(incident.children[0], field) is None
    assert [(w.field, w.code) for w in incident.data_quality] == [(f"children[0].{field}", code)]
    assert str(bad) not in incident.data_quality[0].message
    assert incident.children[1].given_name == "Ottoline"


def test_a_malformed_incident_postcode_is_dropped_with_a_warning() -> None:
    incident = PoliceIncident.model_validate(factories.incident(location_postcode="nowhere"))
    assert incident.location_postcode is None
    assert incident.data_quality[0].field == "location_postcode"


def test_a_producer_cannot_supply_its_own_data_quality_warnings() -> None:
    data = factories.incident(data_quality=[{"field": "x", "code": "unknown_field", "message": ""}])
    assert PoliceIncident.model_validate(data).data_quality == []


@pytest.mark.parametrize("dob", ["2027-01-15", "2003-05-01", None])
def test_a_date_of_birth_is_never_rejected_for_the_age_it_implies(dob: str | None) -> None:
    incident = PoliceIncident.model_validate(factories.incident_child(0, date_of_birth=dob))
    assert incident.children[0].date_of_birth == (date.fromisoformat(dob) if dob else None)
    assert incident.data_quality == []


def test_an_approximate_date_of_birth_is_kept_as_approximate() -> None:
    incident = PoliceIncident.model_validate(factories.incident())
    assert incident.children[1].date_of_birth_approximate is True


def test_unknown_fields_are_reported_by_name_never_by_value() -> None:
    data = factories.incident(officer_name="PC Quillfeather")
    data["children"][0]["favourite_colour"] = "green"
    incident = PoliceIncident.model_validate(data)
    assert [(w.field, w.code) for w in incident.data_quality] == [
        ("officer_name", WarningCode.UNKNOWN_FIELD)
    ]
    assert "Quillfeather" not in incident.model_dump_json(include={"data_quality"})


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"children": []}, ("children",)),
        ({"incident_reference": ""}, ("incident_reference",)),
        ({"incident_type": "burglary"}, ("incident_type",)),
        ({"sequence": "forty-one"}, ("sequence",)),
        ({"risk_grade": 3}, ("risk_grade",)),
        ({"occurred_at": "last night"}, ("occurred_at",)),
    ],
)
def test_incidents_that_cannot_be_processed_safely_are_invalid(
    changes: dict[str, object], loc: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as info:
        PoliceIncident.model_validate(factories.incident(**changes))
    assert info.value.errors()[0]["loc"] == loc


def test_a_child_without_a_role_is_invalid() -> None:
    data = factories.incident()
    del data["children"][0]["role"]
    with pytest.raises(ValidationError) as info:
        PoliceIncident.model_validate(data)
    assert info.value.errors()[0]["loc"] == ("children", 0, "role")


def test_validation_errors_never_repeat_personal_values() -> None:
    data = factories.incident_child(0, role="Zebedee Quillfeather", gender="14 Larkspur Row")
    with pytest.raises(ValidationError) as info:
        PoliceIncident.model_validate(data)
    text = str(info.value) + repr(info.value.errors(include_input=False))
    for value in factories.PERSONAL_VALUES:
        assert value not in text


def test_council_record_drops_a_bad_nhs_number_and_keys_by_council_and_child() -> None:
    record = ChildRecord.model_validate(factories.example("child-record", nhs_number="123"))
    assert record.nhs_number is None
    assert record.data_quality[0].code is WarningCode.INVALID_NHS_NUMBER
    assert record.key == "E09000030:C-100"


def test_a_tombstone_is_read_from_the_record_key() -> None:
    deleted = ChildRecordDeleted.from_key("E09000030:C-100")
    assert (deleted.council_code, deleted.child_id) == ("E09000030", "C-100")
    with pytest.raises(ValueError, match="council_code"):
        ChildRecordDeleted.from_key("C-100")


def test_a_school_payload_cannot_carry_an_address() -> None:
    data = factories.example("notification")
    data["payload"]["address"] = "14 Larkspur Row"
    with pytest.raises(ValidationError) as info:
        Notification.model_validate(data)
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_a_notification_payload_must_match_its_recipient_agency() -> None:
    data = factories.example("notification")
    data["recipient"] = {"agency": "health", "organisation": "nhs-trust-1"}
    with pytest.raises(ValidationError, match="does not match recipient agency"):
        Notification.model_validate(data)


def test_outbound_events_forbid_unknown_fields() -> None:
    with pytest.raises(ValidationError) as info:
        Notification.model_validate(factories.example("notification", extra_field=1))
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason_code"):
        Acknowledgement.model_validate(factories.example("acknowledgement", status="rejected"))
    ack = Acknowledgement.model_validate(
        factories.example("acknowledgement", status="rejected", reason_code="wrong_child")
    )
    assert ack.reason_code == "wrong_child"


def test_a_review_decision_confirms_a_record_or_rejects_without_one() -> None:
    with pytest.raises(ValidationError, match="needs record_id"):
        ReviewDecision.model_validate(factories.example("review-decision", record_id=None))
    with pytest.raises(ValidationError, match="must not name a record_id"):
        ReviewDecision.model_validate(factories.example("review-decision", decision="reject"))
    rejected = ReviewDecision.model_validate(
        factories.example("review-decision", decision="reject", record_id=None, approved_by=None)
    )
    assert rejected.decision == "reject"


def test_a_strategy_meetings_attendees_must_have_been_invited() -> None:
    from schemas import StrategyMeeting

    with pytest.raises(ValidationError, match="among the invited"):
        StrategyMeeting.model_validate(
            factories.example("strategy-meeting", attended=["police", "health", "early_help"])
        )
    with pytest.raises(ValidationError, match="only a held meeting"):
        StrategyMeeting.model_validate(factories.example("strategy-meeting", status="scheduled"))


def test_every_agency_can_be_a_strategy_meeting_party() -> None:
    """Party repeats Agency's values (plus the police) to stay a readable enum; a new
    agency added to one and not the other would drop out of meeting attendance figures."""
    from schemas.enums import Agency
    from schemas.meeting import Party

    assert {p.value for p in Party} == {a.value for a in Agency} | {"police"}
