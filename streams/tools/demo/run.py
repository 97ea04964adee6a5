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
import heapq
import json
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import (
    AuditRecord,
    DeadLetter,
    Notification,
    PoliceIncident,
    PossibleMatch,
)
from schemas.police import incident_key
from streams import access, topics
from streams.clock import Clock, simulated
from streams.compliance import render_report
from streams.incidents import Origin, validate
from streams.operations import acl
from streams.operations.report import from_topics
from streams.routing import default_policy_text, load_policy
from streams.settings import Settings
from streams.tools.demo.edge import DemoEdge
from streams.tools.platform import localkafka
from streams.tools.platform.worker_process import free_port, start_worker, wait_for
from streams.tools.synthetic import (
    COUNCIL,
    DEMO_DAY,
    PERSON_FIELDS,
    Incidents,
    IncidentStream,
    council,
    incidents,
)
from streams.topics import admin
from streams.topics.io import produce, read_all

DEMO_PREFIX = "demo."
SPEED = 3600.0  # simulated seconds per wall-clock second: an hour a second
LEAD = timedelta(hours=10)  # simulated time before the day, while the worker starts
TAIL = timedelta(hours=30)  # after the day: deadlines pass, late acknowledgements arrive
LOST = 2  # incidents the force never delivers (sequence gaps)
HTTPS_ACK = "https"  # a scheduled acknowledgement the gateway is asked to make
LATE_RECORDS = 10
ON_TIME, LATE = 0.82, 0.10  # the rest are never acknowledged


def _say(label: str, text: str) -> None:
    print(f"  {label:<11} {text}", flush=True)


def _table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        first = f"{row[0]:<{widths[0]}}"
        rest = "  ".join(f"{c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True))
        print(f"  {first}  {rest}")
        if n == 0:
            print(f"  {'-' * (sum(widths) + 2 * (len(widths) - 1))}")


def run_demo(seed: int = 7, incidents_count: int = 700, council_size: int = 5000) -> int:
    began = time.monotonic()
    print(
        f"frontdoor demo: a council of {council_size} children and a day of police "
        f"incidents (seed {seed})\n"
    )
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retried warnings are noise here
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka, access.parties(load_policy(None)))
    _say(
        "broker",
        f"{broker.bootstrap} {'reused' if broker.reused else 'started'} in {broker.seconds:.1f} s",
    )

    the_council = council(seed, council_size)
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
    removed = admin.delete_prefixed(base, DEMO_PREFIX)
    acl.revoke(base, (DEMO_PREFIX, "frontdoor-demo-"))
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
    _say(
        "topics",
        f"{sum(created.values())} created under '{settings.topic_prefix}' "
        f"({len(removed)} from the last demo removed); {acls} ACLs for "
        f"{len(access.parties(load_policy(policy_file)))} principals ({kafka.security.upper()})",
    )
    produce(settings, topics.CHILD_RECORDS, the_council.events())
    _say("council", f"{len(the_council.records)} child records published")

    log_path = Path(".local/demo-worker.log")
    worker = start_worker(localkafka.acting_as(settings, access.WORKER), log_path)
    clock = simulated(DEMO_DAY - LEAD, epoch, SPEED)
    forces = set(load_policy(policy_file).signals.police_sources)
    edge = DemoEdge(kafka, settings, forces, f"{COUNCIL}:front-door", Path(".local/demo-edge"))
    try:
        worker.wait_ready(120)
        _say(
            "worker",
            f"ready ({worker.base_url}, log {log_path}); simulated clock "
            f"{clock():%a %d %b %H:%M} running at {SPEED:.0f}x",
        )
        edge.start()
        _say(
            "gateway",
            f"ready ({edge.process.base_url}, HTTPS, log {edge.process.log_path}); an API key "
            "per force and one for the council's front door, whose webhook is registered",
        )
        day = incidents(IncidentStream(seed=seed), incidents_count, the_council)
        played = asyncio.run(_play(settings, clock, day, seed, edge))
        expected = _expected_children(day, played)
        wait_for(lambda: _routed(settings) >= expected, 60, "the last incidents to be routed")
        _, metrics_body = worker.get("/metrics")
    finally:
        code = worker.stop()
        _say("worker", f"stopped (exit code {code})")
        gateway_code, gateway_metrics = edge.stop()
        _say("gateway", f"stopped (exit code {gateway_code})")
    try:
        _summarise_edge(edge, gateway_metrics)
        ok = _summarise(settings, day, played, metrics_body.decode())
    finally:
        if not broker.reused:
            localkafka.stop(kafka)
            _say("broker", "stopped")
    print(f"\ndemo took {time.monotonic() - began:.1f} s")
    return 0 if ok else 1


@dataclass
class Played:
    published: int = 0
    sent: list[int] = field(default_factory=list)  # indexes of the incidents published
    lost: list[int] = field(default_factory=list)
    acks: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    late_records: int = 0


async def _play(
    settings: Settings, clock: Clock, day: Incidents, seed: int, edge: DemoEdge
) -> Played:
    """Publish what the force, the agencies and the reviewers do, as simulated time passes:
    every other valid incident over HTTPS (the rest, and the invalid ones, on the force's
    topic), the front door's acknowledgements over HTTPS, everyone else's on Kafka."""
    rng = random.Random(seed)
    played = Played(lost=sorted(rng.sample(range(len(day.events) // 4, len(day.events)), LOST)))
    name = {spec.name: topics.topic_name(spec, settings) for spec in topics.ALL}
    watched = [*topics.NOTIFY.values(), topics.REVIEW_MATCHES, topics.AUDIT]
    producer = AIOKafkaProducer(**settings.aiokafka_options(), acks="all", enable_idempotence=True)
    consumer = AIOKafkaConsumer(
        *(name[s.name] for s in watched),
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    await edge.open()
    scheduled: list[tuple[datetime, int, str, bytes, bytes]] = []  # (when, n, topic, key, value)
    seen: set[str] = set()
    unknown: list[tuple[str, str]] = []  # (incident reference, person reference) not matched
    n = 0
    upcoming = 0  # index of the next incident the force will report
    lost = set(played.lost)
    end = DEMO_DAY + timedelta(days=1) + TAIL
    next_report = DEMO_DAY
    late_records_at = DEMO_DAY + timedelta(hours=20)
    try:
        while (now := clock()) < end:
            while upcoming < len(day.events) and day.reported[upcoming] <= now:
                if upcoming not in lost:
                    key, value = day.events[upcoming]
                    force = key.split(b":", 1)[0].decode()  # each force on its own topic
                    own = topics.topic_name(topics.force_incidents(force), settings)
                    valid = isinstance(
                        validate(PoliceIncident, value, Origin("demo"), now), PoliceIncident
                    )
                    if not (
                        valid and upcoming % 2 == 0 and await edge.publish(force, value) == 202
                    ):
                        await producer.send(own, value, key=key)
                    played.published += 1
                    played.sent.append(upcoming)
                upcoming += 1
            batch = await consumer.getmany(timeout_ms=100)
            for messages in batch.values():
                for message in messages:
                    n += 1
                    for item in _respond(
                        message.topic,
                        message.value,
                        name,
                        seen,
                        unknown,
                        played,
                        seed,
                        edge.front_door,
                    ):
                        heapq.heappush(scheduled, (item[0], n, *item[1:]))
            while scheduled and scheduled[0][0] <= now:
                _, _, topic, key, value = heapq.heappop(scheduled)
                if topic != HTTPS_ACK:
                    await producer.send(topic, value, key=key)
                elif await edge.acknowledge(key.decode()) == 404:  # not yet at the gateway
                    n += 1
                    heapq.heappush(scheduled, (now + timedelta(minutes=10), n, topic, key, value))
            if now >= late_records_at and not played.late_records:
                for key, value in _late_records(day, unknown):
                    await producer.send(name[topics.CHILD_RECORDS.name], value, key=key)
                    played.late_records += 1
            if now >= next_report:
                _say(
                    "simulated",
                    f"{now:%a %d %b %H:%M}: {played.published} incidents "
                    f"published, {sum(played.acks.values())} acknowledgements",
                )
                next_report += timedelta(hours=12)
        await producer.flush()
    finally:
        await edge.close()
        await consumer.stop()
        await producer.stop()
    return played


def _respond(
    topic: str,
    value: bytes,
    name: dict[str, str],
    seen: set[str],
    unknown: list[tuple[str, str]],
    played: Played,
    seed: int,
    over_https: str,
) -> list[tuple[datetime, str, bytes, bytes]]:
    """What the agencies and the reviewer will do about one message, and when
    (``over_https``: the organisation that acknowledges through the gateway)."""
    if topic == name[topics.AUDIT.name]:
        audit = AuditRecord.model_validate_json(value)
        if (
            audit.stage == "routed"
            and audit.child.decision
            and audit.child.decision.value == "none"
        ):
            unknown.append((audit.incident_reference, audit.child.person_reference))
        return []
    if topic == name[topics.REVIEW_MATCHES.name]:
        review = PossibleMatch.model_validate_json(value)
        best = review.candidates[0]
        # As a careful reviewer would: an agreeing NHS number or date of birth, and the
        # names too (an NHS number alone, all else different, is someone's error; a twin
        # shares the family name and date of birth; a stranger may share a given name and
        # date of birth).
        named = "family:disagree" not in best.reasons and any(
            r.startswith("given:") and r != "given:disagree" for r in best.reasons
        )
        confirm = named and ("dob:exact" in best.reasons or "nhs:agree" in best.reasons)
        played.decisions["confirm" if confirm else "reject"] += 1
        decision = {
            "event_id": f"decision-{review.review_id}",
            "source": COUNCIL,
            "produced_at": review.produced_at.isoformat(),
            "review_id": review.review_id,
            "decision": "confirm" if confirm else "reject",
            "record_id": best.record_id if confirm else None,
            "decided_by": "demo-reviewer",
            "decided_at": (review.produced_at + timedelta(hours=2)).isoformat(),
        }
        key = incident_key(review.police_source, review.incident_reference).encode()
        return [
            (
                review.produced_at + timedelta(hours=2),
                name[topics.REVIEW_DECISIONS.name],
                key,
                json.dumps(decision).encode(),
            )
        ]
    notification = Notification.model_validate_json(value)
    if notification.notification_id in seen:
        return []  # re-sent with the same id: the agency has it already
    seen.add(notification.notification_id)
    fate = random.Random(f"{seed}:{notification.notification_id}")
    roll = fate.random()
    window = notification.deadline - notification.produced_at
    if roll < ON_TIME and window > timedelta(0):
        at = notification.produced_at + window * fate.uniform(0.05, 0.9)
        played.acks["on time"] += 1
    elif roll < ON_TIME + LATE or window <= timedelta(0):
        at = max(notification.deadline, notification.produced_at) + timedelta(
            hours=fate.uniform(0.2, 8)
        )
        played.acks["late"] += 1
    else:
        played.acks["never"] += 1
        return []
    if notification.recipient.organisation == over_https:
        return [(at, HTTPS_ACK, notification.notification_id.encode(), b"")]
    ack = {
        "event_id": f"ack-{notification.notification_id}",
        "source": f"{notification.recipient.agency.value}-gateway",
        "produced_at": at.isoformat(),
        "notification_id": notification.notification_id,
        "agency": notification.recipient.agency.value,
        "organisation": notification.recipient.organisation,
        "status": "received",
        "acknowledged_at": at.isoformat(),
    }
    return [
        (
            at,
            name[topics.AGENCY_ACKS[notification.recipient.agency].name],
            notification.notification_id.encode(),
            json.dumps(ack).encode(),
        )
    ]


def _late_records(day: Incidents, unknown: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Records the council creates for children police told it about but it did not know."""
    children = {}
    for _, value in day.events:
        try:
            incident = json.loads(value)
            for child in incident["children"]:
                children[(incident["incident_reference"], child["person_reference"])] = child
        except (ValueError, KeyError, TypeError):
            continue
    made: list[tuple[bytes, bytes]] = []
    for ref in unknown[:LATE_RECORDS]:
        child = children[ref]
        child_id = f"LATE-{len(made):03d}"
        record = {k: child[k] for k in PERSON_FIELDS if k in child}
        record.update(
            {
                "event_id": f"late-{child_id}",
                "source": COUNCIL,
                "produced_at": DEMO_DAY.isoformat(),
                "council_code": COUNCIL,
                "child_id": child_id,
                "status": "child_in_need",
                "allocated_worker": "SW-200",
                "updated_at": DEMO_DAY.isoformat(),
            }
        )
        made.append((f"{COUNCIL}:{child_id}".encode(), json.dumps(record).encode()))
    return made


def _expected_children(day: Incidents, played: Played) -> int:
    published = (day.events[i][1] for i in played.sent)
    checked = (validate(PoliceIncident, v, Origin("demo"), DEMO_DAY) for v in published)
    return sum(len(r.children) for r in checked if isinstance(r, PoliceIncident))


def _routed(settings: Settings) -> int:
    return sum(b'"stage":"routed"' in m.value for m in read_all(settings, [topics.AUDIT]))


def _summarise_edge(edge: DemoEdge, metrics_text: str) -> None:
    wanted = (
        "frontdoor_edge_published_total",
        "frontdoor_edge_webhook_deliveries_total",
        "frontdoor_edge_webhook_retries_total",
    )
    series = [
        (line.rsplit(" ", 1)[0], int(float(line.rsplit(" ", 1)[1])))
        for line in metrics_text.splitlines()
        if line.startswith(wanted)
    ]
    _table(
        "The HTTPS edge (frontdoor gateway)",
        ("", "count"),
        [
            *sorted(edge.counts.items()),
            *((f"webhook receiver: {k}", v) for k, v in sorted(edge.receiver.counts.items())),
            *series,
        ],
    )


def _summarise(settings: Settings, day: Incidents, played: Played, metrics_text: str) -> bool:
    audits = [AuditRecord.model_validate_json(m.value) for m in read_all(settings, [topics.AUDIT])]
    dead = [
        DeadLetter.model_validate_json(m.value) for m in read_all(settings, [topics.DEAD_LETTERS])
    ]
    routed = [a for a in audits if a.stage == "routed"]
    decided = [a for a in audits if a.stage == "review_decided"]
    rematched = [a for a in audits if a.stage == "rematched"]
    decisions = Counter(a.child.decision.value for a in routed if a.child.decision)
    wrong = [
        a
        for a in routed
        if a.child.decision
        and a.child.decision.value == "auto"
        and a.child.record_id != day.truth.get(a.child.person_reference)
    ]
    missed_known = [
        a
        for a in routed
        if a.child.decision
        and a.child.decision.value == "none"
        and day.truth.get(a.child.person_reference)
    ]
    lost = set(played.lost)
    checked = [
        validate(PoliceIncident, v, Origin("demo"), DEMO_DAY)
        for i, (_, v) in enumerate(day.events)
        if i not in lost
    ]
    expected_children = _expected_children(day, played)
    invalid = sum(isinstance(r, DeadLetter) for r in checked)
    _table(
        "Incidents",
        ("", "count"),
        [
            ("in the day", len(day.events)),
            ("lost on the way (never published)", len(played.lost)),
            (
                "reported after the simulation ended",
                len(day.events) - len(played.lost) - played.published,
            ),
            ("published", played.published),
            ("valid", len({a.incident_reference for a in routed})),
            ("dead-lettered", len(dead)),
            ("children routed", len(routed)),
        ],
    )
    _table(
        "Matching children to council records",
        ("decision", "children"),
        [
            ("auto-linked", decisions.get("auto", 0)),
            ("  of which wrong (false link)", len(wrong)),
            ("possible match, to review", decisions.get("review", 0)),
            ("  confirmed by the reviewer", sum(1 for a in decided if a.child.record_id)),
            (
                "    of which wrong",
                sum(
                    1
                    for a in decided
                    if a.child.record_id
                    and a.child.record_id != day.truth.get(a.child.person_reference)
                ),
            ),
            ("no match (not known)", decisions.get("none", 0)),
            ("  of which were known (missed)", len(missed_known)),
            ("  matched later to a late council record", len(rematched)),
        ],
    )
    _table(
        "What the agencies did (simulated)",
        ("", "notifications"),
        [(k, v) for k, v in played.acks.most_common()],
    )
    # The report covers the whole simulated period: the day and what followed from it
    # (late reports arrive the next day, reviews and late records settle later). It is
    # `frontdoor report` over the same period, by the same code.
    end = DEMO_DAY + timedelta(days=1) + TAIL
    built = from_topics(settings, DEMO_DAY, end, end)
    print("\n" + render_report(built, "table"), end="")
    print(
        "\nThe same report, any time later (broker started):\n  env $(.venv/bin/frontdoor kafka "
        f"credentials admin) FRONTDOOR_TOPIC_PREFIX={settings.topic_prefix} .venv/bin/frontdoor "
        f"report --since {DEMO_DAY:%Y-%m-%dT%H:%MZ} --until {end:%Y-%m-%dT%H:%MZ}"
    )
    series = [line for line in metrics_text.splitlines() if line.startswith("frontdoor_")]
    print(f"\nThe worker's /metrics had {len(series)} frontdoor_ series at the end.")
    accounted = len(routed) == expected_children and len(dead) == invalid
    print(
        f"{'Every' if accounted else 'NOT every'} published incident accounted for: "
        f"{len(routed)} children routed, {len(dead)} invalid incidents dead-lettered."
    )
    if not accounted:
        print(
            f"  expected {expected_children} children and {invalid} dead letters", file=sys.stderr
        )
    return accounted and not wrong
