"""`frontdoor verify --since T --until T`: is every incident of the period accounted for?

Reads each force's own topic and ``police.incidents.v1`` (the incidents published in
the period, by their Kafka timestamp: forwarding keeps the force's), ``audit.decisions.v1``
and ``dlq.events.v1`` to their ends, and lists every record on a force's topic neither
forwarded nor dead-lettered, and every incident neither audited (each of its children)
nor dead-lettered. Exit code 1 when any is. Keys are shown only when they are plain
``<force>:<reference>`` codes; nothing of an incident's content is.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from schemas import DeadLetter, PoliceIncident
from schemas.envelope import KEY_PART_PATTERN
from streams import topics
from streams.compliance import Accounting, Arrival, Handed, account, take_in
from streams.incidents import Origin, validate
from streams.routing import load_policy
from streams.settings import Settings
from streams.topics.io import scan

_PLAIN_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}:" + KEY_PART_PATTERN.strip("^$"))


def collect(settings: Settings, since: datetime, until: datetime) -> Accounting:
    incidents_topic = topics.topic_name(topics.POLICE_INCIDENTS, settings)
    arrivals: list[Arrival] = []
    audited: set[tuple[str, str, str]] = set()
    dead: set[tuple[str, int, int]] = set()
    handed: list[Handed] = []
    forwarded: set[str] = set()
    now = datetime.now(UTC)

    def in_period(record: Any) -> bool:
        return since <= datetime.fromtimestamp(record.timestamp / 1000, UTC) < until

    def at_intake(record: Any) -> None:
        if in_period(record):
            key = (record.key or b"").decode(errors="replace")
            shown = key if _PLAIN_KEY.fullmatch(key) else "(key not shown)"
            digest = hashlib.sha256(record.value or b"").hexdigest()
            handed.append(Handed(record.topic, record.partition, record.offset, shown, digest))

    def incident(record: Any) -> None:
        forwarded.add(hashlib.sha256(record.value or b"").hexdigest())
        if not in_period(record):
            return
        key = (record.key or b"").decode(errors="replace")
        shown = key if _PLAIN_KEY.fullmatch(key) else "(key not shown)"
        origin = Origin(record.topic, record.partition, record.offset, record.key)
        event = validate(PoliceIncident, record.value, origin, now)
        if isinstance(event, DeadLetter):
            arrivals.append(Arrival(record.partition, record.offset, shown))
            return
        children = tuple(c.person_reference for c in event.children)
        arrivals.append(
            Arrival(
                record.partition,
                record.offset,
                shown,
                event.source,
                event.incident_reference,
                children,
            )
        )

    def audit(record: Any) -> None:
        data = json.loads(record.value)
        child = data["child"]["person_reference"]
        audited.add((data["police_source"], data["incident_reference"], child))

    def dead_letter(record: Any) -> None:
        data = json.loads(record.value)
        dead.add((data["original_topic"], data["original_partition"], data["original_offset"]))

    policy = load_policy(settings.policy_file)
    forces = [topics.force_incidents(f) for f in policy.signals.police_sources]
    visits: dict[str, tuple[Callable[[Any], None], str]] = {
        **{
            topics.topic_name(force, settings): (at_intake, "on the forces' topics")
            for force in forces
        },
        incidents_topic: (incident, "incidents"),
        topics.topic_name(topics.AUDIT, settings): (audit, "audit records"),
        topics.topic_name(topics.DEAD_LETTERS, settings): (dead_letter, "dead letters"),
    }
    read: Counter[str] = Counter()

    def visit(record: Any) -> None:  # every topic in one pass: one consumer, one metadata
        handler, what = visits[record.topic]
        handler(record)
        read[what] += 1

    scan(settings, [*forces, topics.POLICE_INCIDENTS, topics.AUDIT, topics.DEAD_LETTERS], visit)
    for what in dict.fromkeys(what for _, what in visits.values()):
        print(f"  read {read[what]:,} {what}", file=sys.stderr, flush=True)
    merged = {(p, o) for topic, p, o in dead if topic == incidents_topic}
    return take_in(account(arrivals, audited, merged), handed, forwarded, dead)


def render(result: Accounting, since: datetime, until: datetime) -> str:
    lines = [
        f"Incidents published {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} (UTC)",
        f"  on the forces' own topics    {result.handed:>8,}",
        f"    forwarded                  {result.forwarded:>8,}",
        f"    dead-lettered at intake    {result.refused:>8,}",
        f"    neither                    {len(result.not_taken_in):>8,}",
    ]
    for missed in result.not_taken_in[:1000]:
        lines.append(
            f"      {missed.topic} partition {missed.partition} offset {missed.offset} "
            f"key {missed.key}: not taken in"
        )
    lines += [
        f"  on {topics.POLICE_INCIDENTS.name:<25} {result.arrived:>8,}",
        f"  audited (every child)        {result.audited:>8,}",
        f"  dead-lettered (with reasons) {result.dead_lettered:>8,}",
        f"  unaccounted for              {len(result.unaccounted):>8,}",
    ]
    for gone in result.unaccounted[:1000]:
        a = gone.arrival
        state = (
            f"{gone.children_audited} of {len(a.children)} children audited"
            if a.children is not None
            else "invalid and not dead-lettered"
        )
        lines.append(f"    partition {a.partition} offset {a.offset} key {a.key}: {state}")
    if len(result.unaccounted) > 1000:
        lines.append(f"    ... and {len(result.unaccounted) - 1000:,} more")
    verdict = "every incident accounted for" if result.complete else "INCIDENTS UNACCOUNTED FOR"
    return "\n".join([*lines, verdict, ""])


def run(since: datetime, until: datetime, settings: Settings | None = None) -> int:
    settings = settings or Settings()
    result = collect(settings, since, until)
    sys.stdout.write(render(result, since, until))
    return 0 if result.complete else 1
