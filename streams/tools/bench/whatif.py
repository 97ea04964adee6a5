"""``frontdoor bench whatif``: a year of a large force replayed under two policies, from the
topics of the local broker, timed and measured (rate, memory), with where the time goes.

Set-up (not timed, kept for the next run under a prefix naming its size and seed): a
council of ``records`` children, ``incidents`` spread over ``days``, each published on
``police.incidents.v1`` with its record time at its arrival; what the worker would have
sent for each (its notifications and audit records, by the worker's own core, in
parallel) and acknowledgements for most of them. Then ``frontdoor whatif`` itself, as
the operations principal, with the draft "R3 within 12 hours".
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import resource
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas import Acknowledgement, ChildRecord, PoliceIncident
from schemas.enums import AckStatus, Agency
from streams import access, topics
from streams.incidents import Origin, process_incident, validate
from streams.matching import Replica
from streams.operations import acl, whatif
from streams.routing import Policy, default_policy_text, load_policy, parse_policy
from streams.settings import Settings
from streams.tools.bench.pipeline import logging_quiet
from streams.tools.platform import localkafka
from streams.tools.synthetic import DEMO_DAY, IncidentStream, council, incidents
from streams.topics import admin

SEED = 5
START = DEMO_DAY - timedelta(days=365)
R3_12H = (
    "    deadline: {clock: hours, amount: 24}\n",
    "    deadline: {clock: hours, amount: 12}\n",
)

_SHARED: dict[str, Any] = {}


def _sent_for(span: tuple[int, int]) -> list[tuple[list[bytes], list[bytes], list[str]]]:
    """What the worker would have sent for each incident of the span: notifications,
    audit records (JSON) and the notification ids (for acknowledgements)."""
    replica: Replica = _SHARED["replica"]
    policy: Policy = _SHARED["policy"]
    calendar = _SHARED["calendar"]
    out = []
    for incident, at in _SHARED["arrivals"][span[0] : span[1]]:
        outcomes = process_incident(incident, replica, policy, calendar, at, at)
        sent = [n for o in outcomes for n in o.notifications]
        out.append(
            (
                [n.model_dump_json().encode() for n in sent],
                [o.audit.model_dump_json().encode() for o in outcomes],
                [n.notification_id for n in sent],
            )
        )
    return out


async def _publish(settings: Settings, items: Iterator[tuple[str, bytes, bytes, int]]) -> int:
    producer = AIOKafkaProducer(
        **settings.aiokafka_options(),
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    count = 0
    try:
        pending = []
        for topic, key, value, stamp_ms in items:
            pending.append(await producer.send(topic, value, key=key, timestamp_ms=stamp_ms))
            count += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


async def _keep_a_year(settings: Settings) -> None:
    """The bench's topics keep what they hold (a deployment's keep incidents 30 days and
    notifications 7: a year's what-if needs a year's retention, docs/whatif.md)."""
    client = AIOKafkaAdminClient(**settings.aiokafka_options())
    await client.start()
    try:
        names = [
            topics.topic_name(spec, settings)
            for spec in (
                topics.POLICE_INCIDENTS,
                topics.CHILD_RECORDS,
                topics.REVIEW_DECISIONS,
                *topics.NOTIFY.values(),
                topics.AUDIT,
                topics.ACKS,
            )
        ]
        await client.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, {"retention.ms": "-1"}) for n in names]
        )
    finally:
        await client.close()


def _set_up(settings: Settings, records: int, count: int, days: int) -> dict[str, float]:
    """Generate and publish the year; the seconds each step took."""
    took: dict[str, float] = {}
    began = time.monotonic()
    known = council(SEED, records)
    made = incidents(
        IncidentStream(seed=SEED, start=START, span=timedelta(days=days)), count, known
    )
    took["generate"] = time.monotonic() - began
    rng = random.Random(SEED)
    arrivals = []
    for n, (key, value) in enumerate(made.events):
        checked = validate(PoliceIncident, value, Origin("bench", 0, n, key), START)
        at = checked.reported_at if isinstance(checked, PoliceIncident) else START
        arrivals.append((key, value, at + timedelta(seconds=rng.randrange(2, 300)), checked))
    began = time.monotonic()
    policy = load_policy(None)
    replica = Replica()
    for _, raw in known.events():
        replica.upsert(ChildRecord.model_validate_json(raw))
    valid = [(c, at) for _, _, at, c in arrivals if isinstance(c, PoliceIncident)]
    _SHARED.update(replica=replica, policy=policy, calendar=policy.calendar(), arrivals=valid)
    spans = [(i, min(i + 500, len(valid))) for i in range(0, len(valid), 500)]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        worked = [x for chunk in pool.imap(_sent_for, spans) for x in chunk]
    _SHARED.clear()
    took["route as the worker (set-up)"] = time.monotonic() - began
    incidents_topic = topics.topic_name(topics.POLICE_INCIDENTS, settings)
    audit_topic = topics.topic_name(topics.AUDIT, settings)
    notify = {a: topics.topic_name(s, settings) for a, s in topics.NOTIFY.items()}
    acks_topic = topics.topic_name(topics.ACKS, settings)

    def items() -> Iterator[tuple[str, bytes, bytes, int]]:
        records_topic = topics.topic_name(topics.CHILD_RECORDS, settings)
        first = int(START.timestamp() * 1000)
        for key, value in known.events():
            yield records_topic, key, value, first
        for key, value, at, _ in arrivals:
            yield incidents_topic, key, value, int(at.timestamp() * 1000)
        for (incident, at), (sent, audits, ids) in zip(valid, worked, strict=True):
            stamp = int(at.timestamp() * 1000)
            for raw, nid in zip(sent, ids, strict=True):
                recipient = json.loads(raw)["recipient"]
                agency = Agency(recipient["agency"])
                yield notify[agency], incident.key.encode(), raw, stamp
                if rng.random() < 0.9:  # acknowledged within 0 to 30 hours; one in ten never
                    when = at + timedelta(minutes=rng.randrange(0, 30 * 60))
                    ack = Acknowledgement(
                        event_id=f"ack-{nid}",
                        source=recipient["organisation"],
                        produced_at=when,
                        notification_id=nid,
                        agency=agency,
                        organisation=recipient["organisation"],
                        status=AckStatus.RECEIVED,
                        acknowledged_at=when,
                    )
                    yield acks_topic, nid.encode(), ack.model_dump_json().encode(), stamp
            for raw in audits:
                yield audit_topic, incident.key.encode(), raw, stamp

    began = time.monotonic()
    published = asyncio.run(_publish(settings, items()))
    took[f"publish ({published:,} records)"] = time.monotonic() - began
    return took


def run(records: int = 100_000, count: int = 255_000, days: int = 365) -> int:
    logging_quiet()
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka, access.parties(load_policy(None)))
    size = f"bench-whatif-{SEED}-{records}-{count}-{days}"
    ready = Path(".local/bench") / f"{size}.ready"  # holds the prefix of a finished set-up
    try:
        if ready.exists():
            prefix = ready.read_text().strip()
        else:  # a new prefix: a deleted topic's name is not free again at once
            stale = localkafka.client_settings(kafka, "admin")
            admin.delete_prefixed(stale, (f"{size}.", f"frontdoor-{size}"))
            prefix = f"{size}.{int(time.time())}."
        base = localkafka.client_settings(
            kafka, "admin", topic_prefix=prefix, app_id=f"frontdoor-{prefix[:-1]}", partitions=4
        )
        acl.provision(base)  # every run: a broker started for another namespace drops them
        if not ready.exists():
            asyncio.run(_keep_a_year(base))
            print(f"setting up {count:,} incidents over {days} days, {records:,} records ...")
            for step, seconds in _set_up(base, records, count, days).items():
                print(f"  {step}: {seconds:.0f} s", flush=True)
            ready.parent.mkdir(parents=True, exist_ok=True)
            ready.write_text(prefix)
        draft = Path(".local/bench/whatif-r3-12h.yaml")
        draft.write_text(default_policy_text().replace(*R3_12H))
        parse_policy(draft.read_text())
        operations = localkafka.acting_as(base, access.OPERATIONS)
        timings: dict[str, float] = {}
        began = time.monotonic()
        out = Path(".local/bench/whatif.json")
        code = whatif.run(
            operations,
            START,
            START + timedelta(days=days + 2),
            draft,
            "json",
            out,
            say=None,
            timings=timings,
        )
        took = time.monotonic() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        result = json.loads(out.read_text())
        replayed = result["incidents"]
        print()
        print(f"{'what-if, a year of a force':<44} {'value':>12}  unit")
        rows = [
            ("incidents replayed (both policies)", replayed, "incidents"),
            ("council records", records, "records"),
            ("total time, reading the topics included", took, "s"),
            ("rate", replayed / took, "incidents/s"),
            *((f"  {k}", v, "s") for k, v in timings.items()),
            ("peak memory, this process", peak, "MiB"),
            ("peak memory, largest routing process", children, "MiB"),
            ("fidelity (live replay vs sent)", 100 * result["fidelity"]["share"], "%"),
            (
                "deadlines earlier under R3 12 h",
                result["all"]["deadlines_earlier"],
                "notifications",
            ),
            ("met -> missed under R3 12 h", result["all"]["met_to_missed"], "notifications"),
        ]
        for label, value, unit in rows:
            print(f"{label:<44} {value:>12,.1f}  {unit}")
        target = took <= 300
        print(f"\ntarget: at most 300 s for the year: {'met' if target else 'NOT met'}")
        return 0 if code == 0 and target else 1
    finally:
        if not broker.reused:
            localkafka.stop(kafka)
