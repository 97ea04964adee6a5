"""Every incident that arrived ends audited (each child) or dead-lettered; the rest are
listed."""

from streams.compliance import Arrival, account


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
