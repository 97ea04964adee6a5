"""Fuzzing every inbound contract's validation: for any bytes, an event or a dead letter,
never an exception, and whatever comes back can be written (serialised, under the
broker's limit). ``FRONTDOOR_FUZZ_EXAMPLES`` sets the inputs per test (``make faults``
runs many more than ``make test``)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas import (
    Acknowledgement,
    ChildRecord,
    DeadLetter,
    PoliceIncident,
    ReviewDecision,
    StrategyMeeting,
)
from streams.incidents import Origin, validate
from tests import factories

EXAMPLES = int(os.environ.get("FRONTDOOR_FUZZ_EXAMPLES", "1000"))
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ORIGIN = Origin("fuzz", 0, 0, b"fuzz")
CONTRACTS: list[tuple[type[BaseModel], str]] = [
    (PoliceIncident, "police-incident"),
    (ChildRecord, "child-record"),
    (Acknowledgement, "acknowledgement"),
    (ReviewDecision, "review-decision"),
    (StrategyMeeting, "strategy-meeting"),
]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD_TEXT = [
    "",
    "Zeb\u202eedee",
    "\x00",
    "2026-11-26",
    "2026-11-26T10:00:00Z",
    "9" * 50,
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+00:00",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
    | st.sampled_from(ODD_TEXT),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def total(model: type[BaseModel], raw: bytes) -> None:
    result = validate(model, raw, ORIGIN, NOW)  # never raises
    body = result.model_dump_json().encode()  # whatever came back can be written
    assert len(body) < 1_000_000
    if not isinstance(result, DeadLetter):
        assert isinstance(validate(model, body, ORIGIN, NOW), model)


@FUZZ
@given(st.sampled_from(CONTRACTS), st.binary(max_size=2048))
def test_any_bytes_give_an_event_or_a_dead_letter(contract: Any, raw: bytes) -> None:
    total(contract[0], raw)


@FUZZ
@given(st.sampled_from(CONTRACTS), st.data())
def test_mutated_valid_events_give_an_event_or_a_dead_letter(contract: Any, data: Any) -> None:
    model, name = contract
    raw = bytearray(json.dumps(factories.example(name)).encode())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw)))
        edit = data.draw(st.sampled_from(["flip", "insert", "delete", "repeat"]))
        if edit == "flip" and at < len(raw):
            raw[at] = data.draw(st.integers(0, 255))
        elif edit == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif edit == "delete":
            del raw[at : at + data.draw(st.integers(1, 16))]
        else:
            raw[at:at] = raw[at : at + data.draw(st.integers(1, 64))] * data.draw(st.integers(1, 4))
    total(model, bytes(raw))


@FUZZ
@given(st.sampled_from(CONTRACTS), st.data())
def test_valid_events_with_odd_values_give_an_event_or_a_dead_letter(
    contract: Any, data: Any
) -> None:
    model, name = contract
    event = factories.example(name)
    if name == "police-incident" and data.draw(st.booleans()):
        target = event["children"][data.draw(st.integers(0, len(event["children"]) - 1))]
    else:
        target = event
    for _ in range(data.draw(st.integers(1, 4))):
        field = data.draw(st.sampled_from([*target, "unknown_field"]))
        target[field] = data.draw(json_values)
    total(model, json.dumps(event).encode())
