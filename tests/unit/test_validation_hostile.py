"""Hostile and careless input: every one is a dead letter with a reason, never an exception,
and a dead letter always fits the broker."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import ChildRecord, DeadLetter, PoliceIncident
from schemas.envelope import MAX_EVENT_BYTES
from streams.incidents import Origin, validate
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ORIGIN = Origin("police.incidents.v1", partition=0, offset=3, key=b"MPS:CAD-2026-000123")
BROKER_LIMIT = 1_000_000  # the producer's max.request.size: a dead letter must fit under it


def incident_bytes(**changes: Any) -> bytes:
    return json.dumps(factories.incident(**changes)).encode()


def letter(raw: bytes, model: type[Any] = PoliceIncident, origin: Origin = ORIGIN) -> DeadLetter:
    result = validate(model, raw, origin, NOW)
    assert isinstance(result, DeadLetter), "expected a dead letter"
    assert len(result.model_dump_json().encode()) < BROKER_LIMIT
    text = result.model_dump_json(include={"reasons"})
    assert not any(value in text for value in factories.PERSONAL_VALUES)
    return result


def kinds(dead: DeadLetter) -> list[tuple[str, str]]:
    return [(r.location, r.error_type) for r in dead.reasons]


def with_extra(raw: bytes, fragment: bytes) -> bytes:
    """``raw`` (a JSON object) with ``fragment`` added as its last member."""
    return raw[:-1] + b", " + fragment + b"}"


def test_deep_nesting_in_an_unknown_field_is_a_dead_letter() -> None:
    raw = with_extra(incident_bytes(), b'"extra": ' + b"[" * 1000 + b"]" * 1000)
    dead = letter(raw)
    assert dead.reason_class == "not_json" and kinds(dead) == [("", "json_too_deep")]


def test_nesting_a_little_past_the_limit_is_caught_after_parsing() -> None:
    raw = with_extra(incident_bytes(), b'"extra": ' + b"[" * 40 + b"]" * 40)
    assert kinds(letter(raw)) == [("", "json_too_deep")]


def test_a_4301_digit_number_is_a_dead_letter() -> None:
    raw = with_extra(incident_bytes(), b'"extra": ' + b"9" * 4301)
    assert kinds(letter(raw)) == [("", "json_number_too_long")]


def test_a_key_with_an_encoded_surrogate_is_a_dead_letter() -> None:
    raw = with_extra(incident_bytes(), b'"ex\xed\xa0\x80tra": 1')
    assert letter(raw).reasons[0].error_type == "json_invalid"


def test_a_lone_surrogate_escape_is_a_dead_letter_not_an_unserialisable_event() -> None:
    raw = incident_bytes().replace(b'"Zebedee"', b'"Zeb\\ud800edee"')
    assert letter(raw).reasons[0].message == "a string holds a lone UTF-16 surrogate"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_json_in_another_encoding_or_with_a_bom_is_a_dead_letter(encoding: str) -> None:
    raw = json.dumps(factories.incident()).encode(encoding)
    assert letter(raw).reason_class == "not_json"


def test_duplicate_keys_are_a_dead_letter() -> None:
    raw = with_extra(incident_bytes(), b'"risk_grade": "standard"')
    assert kinds(letter(raw)) == [("", "json_duplicate_key")]


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_are_a_dead_letter(constant: bytes) -> None:
    raw = with_extra(incident_bytes(), b'"extra": ' + constant)
    assert letter(raw).reason_class == "not_json"


def test_an_oversized_event_keeps_a_prefix_its_length_and_its_hash() -> None:
    raw = with_extra(incident_bytes(), b'"circumstances_long": "' + b"x" * 800_000 + b'"')
    dead = letter(raw)
    assert dead.reason_class == "too_large" and dead.original_truncated
    assert dead.original_size_bytes == len(raw) > MAX_EVENT_BYTES
    assert dead.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert raw.startswith(base64.b64decode(dead.original_value_b64))


def test_an_event_just_under_the_limit_is_kept_whole() -> None:
    raw = b"x" * MAX_EVENT_BYTES
    dead = letter(raw)
    assert dead.reason_class == "not_json" and not dead.original_truncated
    assert base64.b64decode(dead.original_value_b64) == raw


def test_a_huge_key_is_cut_in_the_dead_letter() -> None:
    origin = Origin("police.incidents.v1", 0, 4, key=b"k" * 500_000)
    dead = letter(b"nope", origin=origin)
    assert dead.original_truncated and len(base64.b64decode(dead.original_key_b64 or "")) == 1024


def test_two_children_with_one_person_reference_are_a_dead_letter() -> None:
    data = factories.incident()
    data["children"][1]["person_reference"] = data["children"][0]["person_reference"]
    assert "same person_reference" in letter(json.dumps(data).encode()).reasons[0].message


def test_an_incident_that_occurred_after_it_was_reported_is_a_dead_letter() -> None:
    raw = incident_bytes(occurred_at="2026-11-26T01:25:00+00:00")  # 10 minutes after
    assert "occurred_at is after reported_at" in letter(raw).reasons[0].message


def test_a_few_minutes_of_clock_skew_is_allowed() -> None:
    raw = incident_bytes(occurred_at="2026-11-26T01:18:00+00:00")  # 3 minutes after
    assert isinstance(validate(PoliceIncident, raw, ORIGIN, NOW), PoliceIncident)


@pytest.mark.parametrize(
    ("model", "name", "data"),
    [
        (PoliceIncident, "source", factories.incident(source="MPS:X")),
        (PoliceIncident, "incident_reference", factories.incident(incident_reference="A:B")),
        (ChildRecord, "council_code", factories.example("child-record", council_code="E09:1")),
        (ChildRecord, "child_id", factories.example("child-record", child_id="C:100")),
    ],
)
def test_a_colon_in_a_key_part_is_a_dead_letter(model: type[Any], name: str, data: Any) -> None:
    dead = letter(json.dumps(data).encode(), model)
    assert (name, "string_pattern_mismatch") in kinds(dead)


@pytest.mark.parametrize("bad", ["Zeb\x00edee", "Zeb\u202eedee", "Zeb\nedee", "Zeb\u2066edee"])
def test_control_and_bidi_characters_in_a_name_are_a_dead_letter(bad: str) -> None:
    raw = json.dumps(factories.incident_child(0, given_name=bad)).encode()
    assert kinds(letter(raw)) == [("children[0].given_name", "string_pattern_mismatch")]


def test_other_names_are_bounded_in_length() -> None:
    raw = json.dumps(factories.incident_child(0, other_names=["Z" * 101])).encode()
    assert kinds(letter(raw)) == [("children[0].other_names[0]", "string_too_long")]


def test_an_unknown_field_with_an_unprintable_name_is_listed_without_it() -> None:
    raw = with_extra(
        incident_bytes(), json.dumps({"Zeb\u202eedee": 1, "newer_field": 2})[1:-1].encode()
    )
    event = validate(PoliceIncident, raw, ORIGIN, NOW)
    assert isinstance(event, PoliceIncident)
    assert [w.field for w in event.data_quality] == ["(unnamed)", "newer_field"]
    event.model_dump_json()  # serialisable, whatever arrived


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"reported_at": "9999-12-31T23:59:59+00:00"}, "reported_at"),  # would overflow a deadline
        ({"occurred_at": "0001-01-01T00:00:00+00:00"}, "occurred_at"),
        ({"sequence": "9" * 50}, "sequence"),  # a string of digits is still a number here
    ],
)
def test_times_and_numbers_beyond_any_real_incident_are_a_dead_letter(
    changes: dict[str, Any], location: str
) -> None:
    assert location in [r.location for r in letter(incident_bytes(**changes)).reasons]
