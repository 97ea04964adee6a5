"""`make demo`: a day in the life of frontdoor on the embedded local Kafka, in about a minute.

Starts (or reuses) the local broker and declares a fresh set of demo topics; publishes a
synthetic council's child records; runs a real worker on a simulated clock (an hour a
second); plays a day of police incidents as the force reports them (with noise, a few
reported late, a few invalid, two lost on the way); answers possible matches as a
reviewer would; acknowledges notifications as the agencies would (most on time, some
late, some never); sends a few council records late; lets the deadlines pass; and prints
what frontdoor did, ending with the compliance report for the day.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from streams import access, topics
from streams.clock import Clock, simulated
from streams.operations import acl
from streams.routing import default_policy_text, load_policy
from streams.settings import Settings
from streams.tools.demo.day import Day, Played, say
from streams.tools.demo.edge import DemoEdge
from streams.tools.demo.summary import edge_table, expected_children, routed, summarise
from streams.tools.platform import localkafka
from streams.tools.platform.worker_process import free_port, start_worker, wait_for
from streams.tools.synthetic import COUNCIL, DEMO_DAY, Council, Incidents, IncidentStream
from streams.tools.synthetic import council as make_council
from streams.tools.synthetic import incidents as make_incidents
from streams.topics import admin
from streams.topics.io import produce

DEMO_PREFIX = "demo."
SPEED = 3600.0  # simulated seconds per wall-clock second: an hour a second
LEAD = timedelta(hours=10)  # simulated time before the day, while the worker starts


def run_demo(seed: int = 7, incidents_count: int = 700, council_size: int = 5000) -> int:
    began = time.monotonic()
    print(
        f"frontdoor demo: a council of {council_size} children and a day of police "
        f"incidents (seed {seed})\n"
    )
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retried warnings are noise here
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka, access.parties(load_policy(None)))
    say(
        "broker",
        f"{broker.bootstrap} {'reused' if broker.reused else 'started'} in {broker.seconds:.1f} s",
    )
    the_council = make_council(seed, council_size)
    run = _deployment(kafka, the_council)
    produce(run.settings, topics.CHILD_RECORDS, the_council.events())
    say("council", f"{len(the_council.records)} child records published")
    day = make_incidents(IncidentStream(seed=seed), incidents_count, the_council)
    try:
        played, worker_metrics, gateway_metrics, edge = _run_the_day(kafka, run, day, seed)
        edge_table(edge, gateway_metrics)
        ok = summarise(run.settings, day, played, worker_metrics)
    finally:
        if not broker.reused:
            localkafka.stop(kafka)
            say("broker", "stopped")
    print(f"\ndemo took {time.monotonic() - began:.1f} s")
    return 0 if ok else 1


@dataclass(frozen=True)
class Deployment:
    """This run's topics, ACLs and settings (as the admin principal), and its clock."""

    settings: Settings
    policy_file: Path
    clock: Clock


def _deployment(kafka: localkafka.LocalKafkaSettings, the_council: Council) -> Deployment:
    """A fresh namespace for this run (the last demo's removed), provisioned with its
    topics and ACLs, on a simulated clock that starts before the day."""
    run_id = datetime.now().strftime("%Y%m%dT%H%M%S")
    # The council's own schools, so a school elsewhere routes by R2 rather than R1.
    policy_file = Path(".local/demo-policy.yaml")
    policy_file.parent.mkdir(parents=True, exist_ok=True)
    policy_file.write_text(
        default_policy_text().replace(
            "schools: null", f"schools: [{', '.join(the_council.schools)}]"
        )
    )
    # Topics, ACLs and the parties' publishing as the admin principal; the worker as its own.
    base = localkafka.client_settings(kafka, "admin", partitions=2, policy_file=policy_file)
    last_run = (DEMO_PREFIX, "frontdoor-demo-")  # topics and faust's own, by app id
    removed = admin.delete_prefixed(base, last_run)
    acl.revoke(base, last_run)
    epoch = time.time()
    settings = base.model_copy(
        update={
            "topic_prefix": f"{DEMO_PREFIX}{run_id}.",
            "app_id": f"frontdoor-demo-{run_id}",
            "web_port": free_port(),
            "state_dir": Path(".local/demo-state") / run_id,
            "clock_start": DEMO_DAY - LEAD,
            "clock_epoch": epoch,
            "clock_speed": SPEED,
        }
    )
    created, applied = acl.provision(settings)
    acls = len(applied.created) if applied else 0
    say(
        "topics",
        f"{sum(created.values())} created under '{settings.topic_prefix}' "
        f"({len(removed)} from the last demo removed); {acls} ACLs for "
        f"{len(access.parties(load_policy(policy_file)))} principals ({kafka.security.upper()})",
    )
    return Deployment(settings, policy_file, simulated(DEMO_DAY - LEAD, epoch, SPEED))


def _run_the_day(
    kafka: localkafka.LocalKafkaSettings, run: Deployment, day: Incidents, seed: int
) -> tuple[Played, str, str, DemoEdge]:
    """A worker and a gateway, the day played against them until every published
    incident is routed, then both stopped; what was played and each one's /metrics."""
    settings = run.settings
    log_path = Path(".local/demo-worker.log")
    worker = start_worker(localkafka.acting_as(settings, access.WORKER), log_path)
    forces = set(load_policy(run.policy_file).signals.police_sources)
    edge = DemoEdge(kafka, settings, forces, f"{COUNCIL}:front-door", Path(".local/demo-edge"))
    try:
        worker.wait_ready(120)
        say(
            "worker",
            f"ready ({worker.base_url}, log {log_path}); simulated clock "
            f"{run.clock():%a %d %b %H:%M} running at {SPEED:.0f}x",
        )
        edge.start()
        say(
            "gateway",
            f"ready ({edge.process.base_url}, HTTPS, log {edge.process.log_path}); an API key "
            "per force and one for the council's front door, whose webhook is registered",
        )
        played = asyncio.run(Day(settings, run.clock, day, seed, edge).play())
        expected = expected_children(day, played)
        wait_for(lambda: routed(settings) >= expected, 60, "the last incidents to be routed")
        _, metrics_body = worker.get("/metrics")
    finally:
        code = worker.stop()
        say("worker", f"stopped (exit code {code})")
        gateway_code, gateway_metrics = edge.stop()
        say("gateway", f"stopped (exit code {gateway_code})")
    return played, metrics_body.decode(), gateway_metrics, edge
