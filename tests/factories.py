"""Valid example events (as JSON-ready dicts) for tests; each call returns a fresh copy.

The personal data here is invented. ``PERSONAL_VALUES`` lists the strings that must
never appear in a log line, metric, exception message or alert.
"""

from __future__ import annotations

import copy
from typing import Any

NOW = "2026-11-26T10:00:00+00:00"

PERSONAL_VALUES = (
    "Zebedee",
    "Quillfeather",
    "Ottoline",
    "9434765919",
    "943 476 5919",
    "14 Larkspur Row",
    "kicked the door in",
)

_INCIDENT: dict[str, Any] = {
    "event_id": "mps-evt-0001",
    "schema_version": "1.0",
    "source": "MPS",
    "produced_at": NOW,
    "incident_reference": "CAD-2026-000123",
    "incident_type": "domestic_abuse",
    "occurred_at": "2026-11-25T22:40:00+00:00",
    "reported_at": "2026-11-26T01:15:00+00:00",
    "risk_grade": "high",
    "dash_ticks": 15,
    "sequence": 41,
    "location_postcode": "sw1a 1aa",
    "circumstances": "Neighbour reported shouting; suspect kicked the door in.",
    "children": [
        {
            "person_reference": "MPS-P-1",
            "role": "victim",
            "given_name": "Zebedee",
            "family_name": "Quillfeather",
            "date_of_birth": "2016-03-04",
            "gender": "male",
            "address": "14 Larkspur Row, London",
            "postcode": "e1 6an",
            "school_urn": "100000",
            "nhs_number": "943 476 5919",
        },
        {
            "person_reference": "MPS-P-2",
            "role": "present",
            "given_name": "Ottoline",
            "family_name": "Quillfeather",
            "date_of_birth": "2020-07-01",
            "date_of_birth_approximate": True,
        },
    ],
}

_CHILD_RECORD: dict[str, Any] = {
    "event_id": "lbx-rec-1",
    "source": "E09000030",
    "produced_at": NOW,
    "council_code": "E09000030",
    "child_id": "C-100",
    "given_name": "Zebedee",
    "family_name": "Quillfeather",
    "date_of_birth": "2016-03-04",
    "gender": "male",
    "nhs_number": "9434765919",
    "postcode": "E1 6AN",
    "household_id": "H-77",
    "school_urn": "100000",
    "status": "child_protection_plan",
    "allocated_worker": "SW-42",
    "allocated_team": "CP-EAST",
    "updated_at": NOW,
}

_NOTIFICATION: dict[str, Any] = {
    "event_id": "ntf-evt-1",
    "source": "frontdoor",
    "produced_at": NOW,
    "notification_id": "ntf-6f1c1d0e-8f55-4d8e-9a57-0c6f5d1b7a10",
    "incident_reference": "CAD-2026-000123",
    "person_reference": "MPS-P-1",
    "recipient": {"agency": "school", "organisation": "urn:100000"},
    "rules": ["R1"],
    "deadline": "2026-11-26T08:30:00+00:00",
    "deadline_clock": "school_day",
    "payload": {
        "kind": "school",
        "incident_reference": "CAD-2026-000123",
        "incident_type": "domestic_abuse",
        "occurred_at": "2026-11-25T22:40:00+00:00",
        "given_name": "Zebedee",
        "family_name": "Quillfeather",
        "date_of_birth": "2016-03-04",
        "child_present": True,
        "brief_circumstances": "Domestic incident at home overnight.",
    },
}

_ACK: dict[str, Any] = {
    "event_id": "ack-1",
    "source": "school-gateway-E09000030",
    "produced_at": NOW,
    "notification_id": "ntf-6f1c1d0e-8f55-4d8e-9a57-0c6f5d1b7a10",
    "agency": "school",
    "organisation": "urn:100000",
    "status": "received",
    "acknowledged_at": NOW,
}

_ALERT: dict[str, Any] = {
    "event_id": "alert-evt-1",
    "source": "frontdoor",
    "produced_at": NOW,
    "alert_id": "alr-1",
    "kind": "missed",
    "subject": {"notification_id": "ntf-6f1c1d0e-8f55-4d8e-9a57-0c6f5d1b7a10"},
    "agency": "school",
    "rule": "R1",
    "deadline": "2026-11-26T08:30:00+00:00",
    "observed_at": "2026-11-26T08:30:04+00:00",
    "lateness_seconds": 4.0,
}

_POSSIBLE_MATCH: dict[str, Any] = {
    "event_id": "rev-evt-1",
    "source": "frontdoor",
    "produced_at": NOW,
    "review_id": "rev-1",
    "incident_reference": "CAD-2026-000123",
    "police_source": "MPS",
    "person_reference": "MPS-P-1",
    "candidates": [{"record_id": "E09000030:C-100", "score": 0.71, "reasons": ["dob:swapped"]}],
    "decide_by": "2026-11-27T10:00:00+00:00",
}

_REVIEW_DECISION: dict[str, Any] = {
    "event_id": "dec-1",
    "source": "E09000030",
    "produced_at": NOW,
    "review_id": "rev-1",
    "decision": "confirm",
    "record_id": "E09000030:C-100",
    "decided_by": "staff-9",
    "approved_by": "staff-7",
    "decided_at": NOW,
}

_DEAD_LETTER: dict[str, Any] = {
    "event_id": "dlq-1",
    "source": "frontdoor",
    "produced_at": NOW,
    "original_topic": "police.incidents.v1",
    "original_partition": 0,
    "original_offset": 12,
    "original_value_b64": "e25vdA==",
    "reason_class": "not_json",
    "reasons": [{"location": "", "error_type": "json_invalid", "message": "not JSON"}],
    "received_at": NOW,
}

_AUDIT: dict[str, Any] = {
    "event_id": "aud-evt-1",
    "source": "frontdoor",
    "produced_at": NOW,
    "audit_id": "aud-1",
    "stage": "routed",
    "incident_event_id": "mps-evt-0001",
    "incident_reference": "CAD-2026-000123",
    "police_source": "MPS",
    "incident_type": "domestic_abuse",
    "children_in_incident": 2,
    "child": {"person_reference": "MPS-P-1", "decision": "auto", "record_id": "E09000030:C-100"},
}

_MEETING: dict[str, Any] = {
    "event_id": "mtg-evt-1",
    "source": "E09000030",
    "produced_at": NOW,
    "meeting_id": "SM-2026-0042",
    "council_code": "E09000030",
    "incident_reference": "CAD-2026-000123",
    "status": "held",
    "scheduled_for": "2026-11-27T14:00:00+00:00",
    "invited": ["police", "social_care", "school", "health"],
    "attended": ["social_care", "school"],
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "police-incident": _INCIDENT,
    "child-record": _CHILD_RECORD,
    "notification": _NOTIFICATION,
    "acknowledgement": _ACK,
    "compliance-alert": _ALERT,
    "possible-match": _POSSIBLE_MATCH,
    "review-decision": _REVIEW_DECISION,
    "dead-letter": _DEAD_LETTER,
    "audit-record": _AUDIT,
    "strategy-meeting": _MEETING,
}


def example(name: str, **changes: Any) -> dict[str, Any]:
    """A valid example of event ``name``, with top-level fields replaced by ``changes``."""
    data = copy.deepcopy(EXAMPLES[name])
    data.update(changes)
    return data


def incident(**changes: Any) -> dict[str, Any]:
    return example("police-incident", **changes)


def incident_child(index: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid incident whose child ``index`` has ``changes`` applied."""
    data = incident()
    data["children"][index].update(changes)
    return data
