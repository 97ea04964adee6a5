"""kill -9 a worker at random points while incidents stream in, two workers, council
records present: judged against a clean run of the same input."""

from __future__ import annotations

import random
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
    Kill,
    Publisher,
    clean_run,
    converged,
    frozen,
    judge,
    launch,
    load,
    missing_rules,
    outcome,
    percentile,
    record,
    recoveries,
    settle,
)

INCIDENTS = 25_000 if FULL else 600  # at 100/s, still arriving at the tenth kill
RECORDS = 2_000 if FULL else 500
KILLS = 10 if FULL else 1
RATE = 100.0 if FULL else 40.0  # incidents/s offered
# Group membership: dynamic (no instance ids; the survivor takes over when the session
# times out, and the replacement's join moves partitions back), and, in make faults, static
# (each worker stands for a group instance, its replacement launched at once under the same
# id and address, as a supervisor restarting it would: no rebalance while it is back within
# the session timeout). docs/reliability.md compares them.
MEMBERSHIP = ["dynamic", "static"] if FULL else ["dynamic"]


# make faults runs it alone and at full size, for the take-over figures (docs/reliability.md);
# in make test it runs beside the other broker tests, and its one take-over is timed under
# their load (the fault table says so). It asserts no time either way.
@pytest.mark.long
@pytest.mark.parametrize("membership", MEMBERSHIP)
def test_kill_9_at_random_points_loses_nothing_and_changes_no_decision(
    settings: Settings, tmp_path: Path, membership: str
) -> None:
    static = membership == "static"
    rng = random.Random(11)
    the_load = load(seed=11, records=RECORDS, count=INCIDENTS)
    clean = clean_run(the_load)
    run = frozen(settings, tmp_path / "policy.yaml")
    incidents_topic = topics.topic_name(topics.POLICE_INCIDENTS, run)
    produce(run, topics.CHILD_RECORDS, the_load.council.events())
    instance = ["w0", "w1"] if static else [None, None]
    workers = [launch(run, tmp_path, n, instance[n]) for n in (0, 1)]
    for w in workers:
        w.wait_ready(120)
    since = datetime.now(UTC) - timedelta(seconds=5)
    publisher = Publisher(run, the_load.day.events, RATE)
    publisher.start()
    takeovers: list[float] = []  # until the survivor said it owned every partition
    kills: list[Kill] = []
    launched = 2
    for _ in range(KILLS):
        time.sleep(rng.uniform(3, 8))
        victim = rng.randrange(2)
        survivor = workers[1 - victim]
        owned = [frozenset(w.assigned(incidents_topic)) for w in (workers[victim], survivor)]
        killed_at, killed_wall = time.monotonic(), time.time()
        workers[victim].kill()
        if static:  # back at once, as itself: its partitions wait for it, nobody else moves
            # at its own address too: faust's assignor refuses an assignment kept for
            # another URL (AssertionError, the worker never ready)
            port = int(workers[victim].base_url.rsplit(":", 1)[1])
            workers[victim] = launch(run, tmp_path, launched, instance[victim], port)
            workers[victim].wait_ready(120)
        else:
            wait_for(
                lambda s=survivor: s.assigned(incidents_topic) == set(range(4)),
                90,
                "the survivor to own every partition",
            )
        takeovers.append(time.monotonic() - killed_at)
        if publisher.is_alive():  # timed only while incidents arrive
            kills.append(Kill(killed_wall, owned[0], owned[1], until=time.time()))
        if not static:
            workers[victim] = launch(run, tmp_path, launched)
        launched += 1
        wait_for(  # the next kill must take partitions away from someone
            lambda: all(w.assigned(incidents_topic) for w in workers),
            120,
            "both workers to own partitions",
        )
    publisher.join(timeout=600)
    assert publisher.error is None

    accounting = settle(run, since, timeout_s=600 if FULL else 240)
    seen = converged(run, clean, 180 if FULL else 60)
    for w in workers:
        w.stop()
    verdict = judge(clean, seen)
    timed = recoveries(run, kills)
    takeover, stall, flowing = (
        [getattr(r, part) for r in timed] for part in ("takeover_s", "stall_s", "flowing_s")
    )
    record(
        fault="kill -9 a worker (two workers)"
        + (", static membership, restarted at once" if static else "")
        + ("" if FULL else ", beside other tests"),
        tries=KILLS,
        load=f"{INCIDENTS} incidents at {RATE:.0f}/s, {RECORDS} council records",
        # processed again (docs/reliability.md): the dead worker's partitions; the
        # survivor's own stall; all four flowing again
        takeover_p50_p99_max_s=[round(percentile(takeover, q), 1) for q in (0.5, 0.99, 1)],
        survivor_stall_p50_p99_max_s=[round(percentile(stall, q), 1) for q in (0.5, 0.99, 1)],
        all_flowing_p50_p99_max_s=[round(percentile(flowing, q), 1) for q in (0.5, 0.99, 1)],
        kills_timed=len(timed),
        per_kill_takeover_stall_flowing_s=[[r.takeover_s, r.stall_s, r.flowing_s] for r in timed],
        # the survivor said it owned every partition (static: the replacement was ready)
        ready_after_s=[round(t, 1) for t in takeovers],
        read_again={  # by the Committer: at a gap, and where the last records were skipped
            why: sum(log.read_text().count(why) for log in tmp_path.glob("worker-*.log"))
            for why in ("events missing before", "none settled")
        },
        **outcome(accounting, verdict),
    )
    assert accounting.complete, f"{len(accounting.unaccounted)} incidents unaccounted for"
    assert verdict.clean, (verdict, missing_rules(clean, seen))
    # Take-over times are measured and recorded (docs/reliability.md), not asserted: a
    # speed figure, not behaviour. That the survivor took over at all is the wait above.
