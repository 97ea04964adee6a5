"""Hostile inputs interleaved with valid incidents on the real broker, two workers:
every valid incident decided as in the clean run, every hostile one dead-lettered, the
workers ready afterwards."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams import topics
from streams.settings import Settings
from streams.topics.io import produce
from tests.faults.harness import (
    FULL,
    Load,
    Publisher,
    clean_run,
    converged,
    frozen,
    judge,
    launch,
    load,
    outcome,
    record,
    settle,
)
from tests.integration.test_hostile_input import hostile

INCIDENTS = 3_000 if FULL else 300
EVERY = 10  # one hostile message after every tenth valid one


@pytest.mark.long
def test_hostile_messages_among_valid_ones_lose_nothing(settings: Settings, tmp_path: Path) -> None:
    rng = random.Random(15)
    base = load(seed=15, records=500, count=INCIDENTS)
    poison = hostile()
    events: list[tuple[bytes, bytes]] = []
    for n, event in enumerate(base.day.events):
        events.append(event)
        if n % EVERY == EVERY - 1:
            events.append((event[0], rng.choice(poison)))  # the same key: the same partition
    published = len(base.day.events)
    hostile_count = len(events) - published
    the_load = Load(base.council, replace(base.day, events=events))
    clean = clean_run(the_load)
    run = frozen(settings, tmp_path / "policy.yaml")
    produce(run, topics.CHILD_RECORDS, the_load.council.events())
    pool = [launch(run, tmp_path, n) for n in range(2)]
    for w in pool:
        w.wait_ready(120)
    since = datetime.now(UTC) - timedelta(seconds=5)
    publisher = Publisher(run, events, 100.0)
    publisher.start()
    publisher.join(timeout=600)
    assert publisher.error is None

    accounting = settle(run, since, timeout_s=300)
    seen = converged(run, clean, 180 if FULL else 60)
    ready = all(w.ready() for w in pool)
    for w in pool:
        w.stop()
    verdict = judge(clean, seen)
    record(
        fault="hostile messages interleaved with valid incidents (two workers)",
        tries=hostile_count,
        load=f"{published} incidents, {hostile_count} hostile of {len(poison)} kinds",
        dead_lettered=accounting.dead_lettered,
        workers_ready_after=ready,
        **outcome(accounting, verdict),
    )
    assert accounting.complete and verdict.clean and ready, (accounting.unaccounted, verdict)
    assert accounting.dead_lettered >= hostile_count
