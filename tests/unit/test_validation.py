import base64
import json
from datetime import UTC, datetime

from schemas import DeadLetter, PoliceIncident
from streams.incidents import Origin, validate
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ORIGIN = Origin("police.incidents.v1", partition=2, offset=17, key=b"MPS:CAD-1")


def test_a_valid_incident_comes_back_as_the_model() -> None:
    result = validate(PoliceIncident, json.dumps(factories.incident()).encode(), ORIGIN, NOW)
    assert isinstance(result, PoliceIncident)
    assert result.incident_reference == "CAD-2026-000123"


def test_bytes_that_are_not_json_become_a_dead_letter_with_the_original_bytes() -> None:
    raw = b'{"event_id": "x",'
    letter = validate(PoliceIncident, raw, ORIGIN, NOW)
    assert isinstance(letter, DeadLetter)
    assert letter.reason_class == "not_json"
    assert base64.b64decode(letter.original_value_b64) == raw
    assert base64.b64decode(letter.original_key_b64 or "") == b"MPS:CAD-1"
    assert (letter.original_partition, letter.original_offset) == (2, 17)


def test_bytes_that_are_not_utf8_become_a_dead_letter() -> None:
    letter = validate(PoliceIncident, b"\xff\xfe{}", ORIGIN, NOW)
    assert isinstance(letter, DeadLetter)
    assert letter.reasons[0].error_type == "json_invalid"


def test_a_null_value_is_a_dead_letter_not_a_crash() -> None:
    letter = validate(PoliceIncident, None, ORIGIN, NOW)
    assert isinstance(letter, DeadLetter)


def test_every_schema_error_is_listed_with_its_path_and_no_values() -> None:
    data = factories.incident(sequence="many")
    del data["incident_reference"]
    data["children"][0]["role"] = "Zebedee"
    letter = validate(PoliceIncident, json.dumps(data).encode(), ORIGIN, NOW)
    assert isinstance(letter, DeadLetter)
    assert letter.reason_class == "schema"
    assert {r.location for r in letter.reasons} == {
        "incident_reference",
        "sequence",
        "children[0].role",
    }
    reasons_text = json.dumps([r.model_dump() for r in letter.reasons])
    for value in factories.PERSONAL_VALUES:
        assert value not in reasons_text


def test_an_unsupported_major_version_is_classed_as_such() -> None:
    raw = json.dumps(factories.incident(schema_version="2.0")).encode()
    letter = validate(PoliceIncident, raw, ORIGIN, NOW)
    assert isinstance(letter, DeadLetter)
    assert letter.reason_class == "unsupported_version"


def test_a_json_array_is_a_schema_error() -> None:
    letter = validate(PoliceIncident, b"[1, 2]", ORIGIN, NOW)
    assert isinstance(letter, DeadLetter)
    assert letter.reasons[0].error_type == "model_type"


def test_the_same_message_always_gives_the_same_dead_letter_id() -> None:
    first = validate(PoliceIncident, b"nope", ORIGIN, NOW)
    again = validate(PoliceIncident, b"nope", ORIGIN, datetime(2027, 1, 1, tzinfo=UTC))
    other = validate(PoliceIncident, b"nope", Origin("police.incidents.v1", 2, 18), NOW)
    assert first.event_id == again.event_id != other.event_id
