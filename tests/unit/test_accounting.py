"""Every incident that arrived ends audited (each child) or dead-lettered; the rest are
listed."""

from streams.compliance import Arrival, Handed, account, take_in


def test_audited_dead_lettered_and_unaccounted_incidents_are_told_apart() -> None:
    arrivals = [
        Arrival(0, 1, "MPS:A", "MPS", "A", ("P1", "P2")),  # both children audited
        Arrival(0, 2, "MPS:B", "MPS", "B", ("P1", "P2")),  # one child audited
        Arrival(1, 1, "MPS:C"),  # invalid, dead-lettered
        Arrival(1, 2, "MPS:D"),  # invalid, nowhere
        Arrival(1, 3, "MPS:E", "MPS", "E", ("P1",)),  # valid, failed processing: dead-lettered
    ]
    audited = {("MPS", "A", "P1"), ("MPS", "A", "P2"), ("MPS", "B", "P2"), ("MPS", "X", "P1")}
    result = account(arrivals, audited, {(1, 1), (1, 3)})

    assert (result.arrived, result.audited, result.dead_lettered) == (5, 1, 2)
    assert [(u.arrival.key, u.children_audited) for u in result.unaccounted] == [
        ("MPS:B", 1),
        ("MPS:D", 0),
    ]
    assert not result.complete
    assert account(arrivals[:1], audited, set()).complete


def test_every_record_on_a_forces_topic_is_forwarded_unchanged_or_dead_lettered_there() -> None:
    handed = [
        Handed("police.MPS.incidents.v1", 0, 1, "MPS:A", "d1"),  # forwarded (same bytes)
        Handed("police.MPS.incidents.v1", 0, 2, "MPS:B", "d2"),  # dead-lettered at intake
        Handed("police.MPS.incidents.v1", 0, 3, "MPS:C", "d3"),  # neither
        Handed("police.KENT.incidents.v1", 0, 2, "KENT:D", "d4"),  # same offset, other topic
    ]
    dead = {("police.MPS.incidents.v1", 0, 2), ("police.incidents.v1", 0, 3)}
    result = take_in(account([], set(), set()), handed, {"d1", "d9"}, dead)

    assert (result.handed, result.forwarded, result.refused) == (4, 1, 1)
    assert [h.key for h in result.not_taken_in] == ["MPS:C", "KENT:D"]
    assert not result.complete
    assert take_in(account([], set(), set()), handed[:2], {"d1"}, dead).complete
