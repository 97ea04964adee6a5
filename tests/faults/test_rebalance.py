"""A worker added mid-stream, then one stopped cleanly (SIGTERM) mid-stream: rebalances
lose nothing and change no decision; a clean stop hands its partitions over at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams import topics
from streams.settings import Settings
from streams.tools.platform.worker_process import wait_for
from streams.topics.io import produce
from tests.faults.harness import (
    FULL,
    Publisher,
    clean_run,
    converged,
    frozen,
    group_members,
    judge,
    launch,
    load,
    missing_rules,
    outcome,
    record,
    settle,
)

INCIDENTS = 4_000 if FULL else 400
RECORDS = 2_000 if FULL else 500
RATE = 100.0 if FULL else 40.0


@pytest.mark.long
def test_adding_and_removing_a_worker_mid_stream_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    the_load = load(seed=12, records=RECORDS, count=INCIDENTS)
    clean = clean_run(the_load)
    run = frozen(settings, tmp_path / "policy.yaml")
    incidents_topic = topics.topic_name(topics.POLICE_INCIDENTS, run)
    produce(run, topics.CHILD_RECORDS, the_load.council.events())

    first = launch(run, tmp_path, 0)
    first.wait_ready(120)
    since = datetime.now(UTC) - timedelta(seconds=5)
    publisher = Publisher(run, the_load.day.events, RATE)
    publisher.start()
    time.sleep(INCIDENTS / RATE / 4)
    second = launch(run, tmp_path, 1)  # joins mid-stream: a rebalance
    second.wait_ready(120)
    time.sleep(INCIDENTS / RATE / 4)
    stopped_at = time.monotonic()
    assert first.stop() == 0  # SIGTERM mid-stream
    # It left the group as it stopped: the coordinator already counts one member, rather
    # than keeping the stopped one until its session times out.
    members_after_stop = group_members(run)
    wait_for(
        lambda: second.assigned(incidents_topic) == set(range(4)),
        60,
        "the remaining worker to own every partition",
        interval_s=0.1,
    )
    handover = time.monotonic() - stopped_at
    publisher.join(timeout=600)
    assert publisher.error is None

    accounting = settle(run, since, timeout_s=600 if FULL else 240)
    seen = converged(run, clean, 180 if FULL else 60)
    second.stop()
    verdict = judge(clean, seen)
    record(
        fault="add a worker, then SIGTERM one, mid-stream",
        tries=2,
        load=f"{INCIDENTS} incidents at {RATE:.0f}/s, {RECORDS} council records",
        handover_after_sigterm_s=round(handover, 1),
        members_after_stop=members_after_stop,
        **outcome(accounting, verdict),
    )
    assert accounting.complete, f"{len(accounting.unaccounted)} incidents unaccounted for"
    assert verdict.clean, (verdict, missing_rules(clean, seen))
    assert members_after_stop == 1
