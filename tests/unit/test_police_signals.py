"""Late police reports, late to frontdoor, sequence gaps and batching, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import PoliceIncident
from schemas.enums import AlertKind
from streams.compliance import (
    SequenceObserved,
    SourceSequence,
    arrival_time,
    late_report,
    late_to_frontdoor,
    observe,
    observe_arrival,
    overdue_gaps,
    sequence_of,
)
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def incident(occurred: datetime, reported: datetime, ref: str = "CAD-1") -> PoliceIncident:
    return PoliceIncident.model_validate(
        factories.incident(
            occurred_at=occurred.isoformat(),
            reported_at=reported.isoformat(),
            incident_reference=ref,
        )
    )


def test_a_report_within_the_limit_is_not_late() -> None:
    assert late_report(incident(NOW - DAY, NOW), DAY, NOW) is None


def test_a_report_past_the_limit_is_late_by_how_much() -> None:
    alert = late_report(incident(NOW - timedelta(days=3), NOW), DAY, NOW)
    assert alert is not None and alert.kind is AlertKind.LATE_POLICE_REPORT
    assert alert.lateness_seconds == 2 * 86400
    assert alert.subject.police_source == "MPS" and alert.incident_type is not None


def test_an_incident_reaching_frontdoor_within_the_limit_is_not_late_to_frontdoor() -> None:
    held = incident(NOW - DAY, NOW - timedelta(minutes=59))
    assert late_to_frontdoor(held, NOW, timedelta(hours=1), NOW) is None


def test_an_incident_held_back_by_the_force_is_late_to_frontdoor_by_how_much() -> None:
    held = incident(NOW - timedelta(days=2), NOW - timedelta(hours=33))
    alert = late_to_frontdoor(held, NOW, timedelta(hours=1), NOW)
    assert alert is not None and alert.kind is AlertKind.LATE_TO_FRONTDOOR
    assert alert.lateness_seconds == 32 * 3600
    assert alert.deadline == NOW - timedelta(hours=32)
    assert alert.subject.police_source == "MPS" and alert.subject.incident_reference == "CAD-1"


def test_arrival_is_the_bus_time_unless_it_is_implausible() -> None:
    """A worker's own backlog is not the force's delay; a clock behind the report or ahead
    of now is not believed."""
    reported = NOW - timedelta(hours=3)
    held = incident(NOW - timedelta(hours=4), reported)
    on_bus = reported + timedelta(minutes=2)
    assert arrival_time(held, on_bus, NOW) == on_bus
    assert arrival_time(held, None, NOW) == NOW
    assert arrival_time(held, reported - timedelta(hours=1), NOW) == NOW
    assert arrival_time(held, NOW + timedelta(hours=1), NOW) == NOW
    assert late_to_frontdoor(held, arrival_time(held, on_bus, NOW), timedelta(hours=1), NOW) is None


def test_a_gap_filled_in_time_raises_nothing() -> None:
    state = None
    for n in (1, 2, 4, 5):
        state = observe(state, "MPS", n, NOW)
    assert state is not None and [(g.first, g.last) for g in state.gaps] == [(3, 3)]
    state = observe(state, "MPS", 3, NOW + timedelta(minutes=5))
    assert state.gaps == []
    assert overdue_gaps(state, timedelta(minutes=30), NOW + timedelta(hours=1))[1] == []


def test_a_gap_not_filled_in_time_names_the_missing_range_once() -> None:
    state = observe(observe(None, "MPS", 10, NOW), "MPS", 15, NOW)
    state = observe(state, "MPS", 12, NOW)  # one of the missing ones arrives
    assert [(g.first, g.last) for g in state.gaps] == [(11, 11), (13, 14)]
    too_soon = overdue_gaps(state, timedelta(minutes=30), NOW + timedelta(minutes=29))[1]
    assert too_soon == []
    state, alerts = overdue_gaps(state, timedelta(minutes=30), NOW + timedelta(minutes=31))
    assert [(a.subject.sequence_from, a.subject.sequence_to) for a in alerts] == [
        (11, 11),
        (13, 14),
    ]
    assert all(a.kind is AlertKind.SEQUENCE_GAP for a in alerts)
    assert overdue_gaps(state, timedelta(minutes=30), NOW + timedelta(hours=5))[1] == []


def test_a_gap_among_a_forces_first_numbers_is_found_whichever_arrives_first() -> None:
    """Partitions deliver a force's first numbers in any order: the first seen is not the
    baseline for the gap window; after it, a low number is a late arrival, not a new base."""
    window = timedelta(minutes=30)
    state = None
    for i, n in enumerate((5, 3, 6, 1)):  # 2 and 4 missing; 5 arrived first
        state = observe(state, "MPS", n, NOW + timedelta(seconds=i), window)
    assert state is not None
    assert [(g.first, g.last) for g in state.gaps] == [(4, 4), (2, 2)]
    assert all(g.opened_at == NOW for g in state.gaps)  # open since the force was first seen
    state = observe(state, "MPS", 4, NOW + timedelta(minutes=1), window)  # arrives late
    assert [(g.first, g.last) for g in state.gaps] == [(2, 2)]
    state, alerts = overdue_gaps(state, window, NOW + timedelta(minutes=31))
    assert [(a.subject.sequence_from, a.subject.sequence_to) for a in alerts] == [(2, 2)]
    later = observe(state, "MPS", 0, NOW + timedelta(hours=2), window)  # past the window
    assert later.lowest == 1 and len(later.gaps) == 1


def test_duplicates_and_reordering_do_not_open_gaps() -> None:
    state = None
    for n in (1, 3, 2, 2, 3, 4):
        state = observe(state, "MPS", n, NOW)
    assert state is not None and state.gaps == [] and state.highest == 4


def _arrivals(state: SourceSequence, ages: list[timedelta], start: datetime) -> list[Any]:
    """Feed arrivals a second apart, each ``age`` old on arrival; the alerts raised."""
    raised = []
    for n, age in enumerate(ages):
        arrived = start + timedelta(seconds=n)
        state, alert = observe_arrival(state, arrived - age, arrived, min_events=5)
        raised.append(alert)
    return raised


def test_a_burst_of_old_events_is_batching_and_fresh_ones_are_not() -> None:
    fresh = _arrivals(SourceSequence(source="MPS", highest=0), [timedelta(hours=1)] * 10, NOW)
    assert fresh == [None] * 10
    ages = [timedelta(days=6), timedelta(days=7), timedelta(days=8), timedelta(days=1, hours=2)]
    alerts = _arrivals(SourceSequence(source="MPS", highest=0), ages * 3, NOW)
    assert alerts[:4] == [None] * 4
    burst = alerts[4]
    assert burst is not None and burst.kind is AlertKind.BATCHING
    assert burst.subject.police_source == "MPS"
    # lateness is the burst's median age beyond 24 h (here the median of its 5 arrivals)
    assert burst.lateness_seconds == timedelta(days=6).total_seconds() - 24 * 3600
    assert alerts[5:] == [None] * 7  # one alert per force per hour, raised once


def test_the_batching_window_slides_and_a_new_hour_raises_again() -> None:
    old = [timedelta(days=3)] * 6
    state = SourceSequence(source="MPS", highest=0)
    raised = []
    for start in (NOW, NOW + timedelta(minutes=11), NOW + timedelta(hours=1, minutes=1)):
        for n, age in enumerate(old):
            arrived = start + timedelta(seconds=n)
            state, alert = observe_arrival(state, arrived - age, arrived, min_events=5)
            raised.append(alert)
    ids = [a.alert_id for a in raised if a is not None]
    assert len(ids) == 2 and ids[0] != ids[1]  # hours NOW and NOW+1h; the 2nd burst is NOW's
    assert len(state.stale) == 6  # older arrivals left the 10-minute window


def test_a_steady_stream_keeps_a_small_state_and_a_burst_among_it_is_still_judged() -> None:
    """A force sending 5 fresh incidents a second: its state stays a few counts, not a
    list of thousands; 30 stale ones among 20 fresh in the window are batching, and the
    lateness is the median of all 50 ages."""
    state = SourceSequence(source="MPS", highest=0)
    for n in range(3000):  # ten minutes at 5 a second
        arrived = NOW + timedelta(seconds=n / 5)
        state, alert = observe_arrival(state, arrived - timedelta(minutes=5), arrived)
        assert alert is None
    assert len(state.model_dump_json()) < 3000 and state.stale == []
    quiet = NOW + timedelta(minutes=30)  # the steady stream has left the window
    for n in range(20):
        arrived = quiet + timedelta(seconds=n)
        state, _ = observe_arrival(state, arrived - timedelta(minutes=5), arrived)
    ages = [timedelta(days=2 + n / 10) for n in range(30)]
    raised = []
    for n, age in enumerate(ages):
        arrived = quiet + timedelta(seconds=20 + n)
        state, alert = observe_arrival(state, arrived - age, arrived)
        raised.append(alert)
    (burst,) = [a for a in raised if a is not None]
    assert raised.index(burst) == 20  # 21 stale of 41: more than half
    # median of 20 fresh and 21 stale ages: the 21st value, the first stale one above 20
    assert burst.lateness_seconds == pytest.approx((ages[0] - timedelta(days=1)).total_seconds())


def test_a_state_written_in_the_old_form_is_read() -> None:
    old = {"source": "MPS", "highest": 3, "recent": [{"arrived": NOW.isoformat(), "age_s": 1}]}
    state = SourceSequence.model_validate(old)
    assert state.highest == 3 and state.stale == [] and state.fresh == []


def test_a_dead_lettered_incidents_sequence_number_counts_only_when_well_formed() -> None:
    assert sequence_of(b'{"source": "MPS", "sequence": 7, "children": []}') == SequenceObserved(
        source="MPS", sequence=7
    )
    for raw in [
        b"[" * 1000 + b"]" * 1000,  # too deep to parse: not a crash
        b'{"source": "MPS", "sequence": ' + b"9" * 4301 + b"}",
        b'{"source": "M:PS", "sequence": 7}',  # not a force code
        b'{"source": "MPS", "sequence": true}',
        b'{"source": "MPS", "sequence": -1}',
        b'{"source": "MPS"}',
        b"not json",
        None,
    ]:
        assert sequence_of(raw) is None
