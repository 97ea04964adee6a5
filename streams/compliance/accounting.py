"""Accounting for every incident that arrived: audited (each child) or dead-lettered. Pure.

frontdoor promises that no incident is silently lost. This is the check anyone can run
(``frontdoor verify``): every record on ``police.incidents.v1`` in a period must have
ended with an audit record for each of its children, or on the dead-letter topic with
its reasons; and every record on a force's own topic must have been forwarded there or
dead-lettered. Anything else is listed, by partition, offset and key, never its content.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Arrival:
    """One record on the incidents topic, as far as accounting needs it."""

    partition: int
    offset: int
    key: str
    # For a valid incident: its force, reference and children's person references.
    source: str | None = None
    reference: str | None = None
    children: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Unaccounted:
    arrival: Arrival
    children_audited: int  # of len(arrival.children), or 0 for an invalid event


@dataclass(frozen=True)
class Handed:
    """One record on a force's own topic: frontdoor must forward it unchanged (the same
    bytes, so the same SHA-256, on ``police.incidents.v1``) or dead-letter it there."""

    topic: str
    partition: int
    offset: int
    key: str
    digest: str


@dataclass
class Accounting:
    arrived: int = 0
    audited: int = 0
    dead_lettered: int = 0
    unaccounted: list[Unaccounted] = field(default_factory=list)
    handed: int = 0  # records on the forces' own topics
    forwarded: int = 0
    refused: int = 0  # dead-lettered at intake (invalid, or naming another force)
    not_taken_in: list[Handed] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unaccounted and not self.not_taken_in


def take_in(
    result: Accounting,
    handed: Iterable[Handed],
    forwarded: set[str],
    dead_lettered: set[tuple[str, int, int]],
) -> Accounting:
    """Add the intake to ``result``: ``forwarded`` holds the SHA-256 of every record on
    the incidents topic, ``dead_lettered`` (topic, partition, offset) of every dead letter."""
    for record in handed:
        result.handed += 1
        if (record.topic, record.partition, record.offset) in dead_lettered:
            result.refused += 1
        elif record.digest in forwarded:
            result.forwarded += 1
        else:
            result.not_taken_in.append(record)
    return result


def account(
    arrivals: Iterable[Arrival],
    audited: set[tuple[str, str, str]],
    dead_lettered: set[tuple[int, int]],
) -> Accounting:
    """``audited`` holds (force, incident reference, person reference) of every audit
    record; ``dead_lettered`` (partition, offset) of every dead letter from the topic."""
    result = Accounting()
    for arrival in arrivals:
        result.arrived += 1
        if (arrival.partition, arrival.offset) in dead_lettered:
            result.dead_lettered += 1
            continue
        children = arrival.children or ()
        done = sum((arrival.source, arrival.reference, c) in audited for c in children)
        if arrival.children is not None and done == len(children):
            result.audited += 1
        else:
            result.unaccounted.append(Unaccounted(arrival, done))
    return result
