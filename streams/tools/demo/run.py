"""`make demo`: a day in the life of frontdoor on the embedded local Kafka, in a couple of
minutes.

Starts (or reuses) the local broker, and launches the local identity provider (Keycloak)
to boot meanwhile; declares a fresh set of demo topics; publishes a synthetic council's
child records; runs a real worker and the HTTPS gateway on a simulated clock (an hour a
second); plays a day of police incidents as the force reports them (with noise, a few
reported late, a few invalid, two lost on the way); answers most possible matches as a
reviewer would and leaves the rest for people; acknowledges notifications as the agencies
would (most on time, some late, some never); sends a few council records late; lets the
deadlines pass. Then the console: two reviewers settle the most urgent possible match in
a headless browser; two schools' safeguarding leads acknowledge their notifications and
send one back as not for them, and the duty manager finds it on the duty board
(screenshots under ``.local/demo-console/``); the alert emails the console sent through a
local SMTP server are checked for personal data. It prints what frontdoor did, the
compliance report for the day, the console's address and the demo sign-ins, and last
a policy what-if on its own day (R3 within 12 hours, ``frontdoor whatif``);
with ``keep_running`` the whole stack stays up for a newcomer to click through, until
Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from streams import access, topics
from streams.clock import Clock, simulated
from streams.operations import acl
from streams.routing import default_policy_text, load_policy
from streams.settings import Settings
from streams.tools.demo import people, schools, whatif
from streams.tools.demo.day import Day, say
from streams.tools.demo.edge import DemoEdge
from streams.tools.demo.summary import edge_table, expected_children, routed, summarise
from streams.tools.platform import idp, localkafka
from streams.tools.platform.console_process import ConsoleProcess, start_console
from streams.tools.platform.mailrelay import MailRelay
from streams.tools.platform.worker_process import WorkerProcess, free_port, start_worker, wait_for
from streams.tools.synthetic import COUNCIL, DEMO_DAY, Council, Incidents, IncidentStream
from streams.tools.synthetic import council as make_council
from streams.tools.synthetic import incidents as make_incidents
from streams.topics import admin
from streams.topics.io import produce

DEMO_PREFIX = "demo."
SPEED = 3600.0  # simulated seconds per wall-clock second: an hour a second
LEAD = timedelta(hours=10)  # simulated time before the day, while the worker starts


CONSOLE_PORT = 8444  # the demo console's address, if free: https://127.0.0.1:8444


def run_demo(
    seed: int = 7, incidents_count: int = 700, council_size: int = 5000, keep_running: bool = False
) -> int:
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
    provider = idp.IdpSettings()
    launched = idp.launch(provider, kafka) is not None  # it boots while the day is played
    say("keycloak", f"{'launched' if launched else 'reused'} on {provider.base_url}")
    the_council = make_council(seed, council_size)
    run = _deployment(kafka, the_council)
    produce(run.settings, topics.CHILD_RECORDS, the_council.events())
    say("council", f"{len(the_council.records)} child records published")
    # Some known children recorded with two errors: possible matches for the reviewers.
    day = make_incidents(IncidentStream(seed=seed, hard_rate=0.06), incidents_count, the_council)
    try:
        ok = _run_the_day(kafka, provider, run, day, seed, keep_running)
    finally:
        if launched:
            idp.stop(provider)
            say("keycloak", "stopped")
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
    # The council's own schools, so a school elsewhere routes by R2 rather than R1; and the
    # two whose safeguarding leads are in the demo realm (schools.SCHOOL_A and _B).
    policy_file = Path(".local/demo-policy.yaml")
    policy_file.parent.mkdir(parents=True, exist_ok=True)
    ours = [*the_council.schools, *(u.removeprefix("urn:") for u in schools.DEMO_SCHOOLS)]
    policy_file.write_text(
        default_policy_text().replace("schools: null", f"schools: [{', '.join(ours)}]")
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
    kafka: localkafka.LocalKafkaSettings,
    provider: idp.IdpSettings,
    run: Deployment,
    day: Incidents,
    seed: int,
    keep_running: bool,
) -> bool:
    """A worker and a gateway, the day played against them until every published
    incident is routed; then the console, two reviewers in a browser, the summary, and
    (if asked) the stack left running until Ctrl-C; then everything stopped."""
    settings = run.settings
    log_path = Path(".local/demo-worker.log")
    worker = start_worker(localkafka.acting_as(settings, access.WORKER), log_path)
    forces = set(load_policy(run.policy_file).signals.police_sources)
    edge = DemoEdge(kafka, settings, forces, f"{COUNCIL}:front-door", Path(".local/demo-edge"))
    console: ConsoleProcess | None = None
    relay: MailRelay | None = None
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
        relay, addresses = schools.mail_relay(Path(".local/demo-console"))
        console = _console(kafka, provider, settings, relay.port, addresses)
        settled = people.settle_one(settings, console, provider, kafka.secrets.ca_file)
        _, metrics_body = worker.get("/metrics")
        edge_table(edge, edge.process.text("/metrics"))
        ok = summarise(settings, day, played, metrics_body.decode())
        # After the summary (which accounts for the day): the schools and the duty manager.
        force, after = _last_sequence(day)
        done = schools.play(
            settings, run.clock, force, after, console, provider, kafka.secrets.ca_file, relay
        )
        print()
        people.show(settled, console, provider)
        schools.show(done, relay)
        ok = ok and not done.skipped and done.leaked == 0 and done.on_the_board
        ok = whatif.show(settings) and ok
        if keep_running:
            _keep_running(worker, console)
        return ok
    finally:
        if console is not None:
            say("console", f"stopped (exit code {console.stop()})")
        if relay is not None:
            relay.stop()
        code = worker.stop()
        say("worker", f"stopped (exit code {code})")
        gateway_code, _ = edge.stop()
        say("gateway", f"stopped (exit code {gateway_code})")


def _last_sequence(day: Incidents) -> tuple[str, int]:
    """The first force's highest sequence number in the day: more incidents continue it."""
    numbers: dict[str, int] = {}
    for _, value in day.events:
        try:
            incident = json.loads(value)
            source, sequence = incident["source"], int(incident["sequence"])
        except (ValueError, KeyError, TypeError):
            continue  # the day's deliberately broken events
        numbers[source] = max(numbers.get(source, 0), sequence)
    force = min(numbers)
    return force, numbers[force]


def _console(
    kafka: localkafka.LocalKafkaSettings,
    provider: idp.IdpSettings,
    settings: Settings,
    smtp_port: int,
    addresses: Path,
) -> ConsoleProcess:
    """The console on the demo's topics (and its simulated clock), once Keycloak is up,
    sending its alert emails to the local SMTP server."""
    started = idp.start(provider, kafka)
    memory = idp.memory_mib(provider)
    say(
        "keycloak",
        f"ready on {provider.base_url} (waited {started.seconds:.1f} s"
        + (f"; {memory:.0f} MiB resident)" if memory else ")"),
    )
    port = CONSOLE_PORT if _free(CONSOLE_PORT) else free_port()
    console = start_console(
        kafka,
        provider,
        settings,
        Path(".local/demo-console"),
        port=port,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        mail_to_file=addresses,
        mail_retry_s=2,
        mail_from="frontdoor@council-mail.example",
    )
    console.wait_ready(90)
    return console


def _free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _keep_running(worker: WorkerProcess, console: ConsoleProcess) -> None:
    """Leave the stack up for a newcomer to click through, until Ctrl-C."""
    print(
        f"\nThe whole stack is running: open {console.base_url} and sign in as one of the "
        "people above (the simulated clock runs on at an hour a second).\n"
        "Press Ctrl-C to stop it."
    )
    try:
        while worker.process.poll() is None and console.process.poll() is None:
            time.sleep(1)
        print("a service stopped by itself: stopping the rest", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nstopping ...")
