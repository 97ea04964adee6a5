"""`frontdoor verify --since T --until T`: is every incident of the period accounted for?

Reads ``police.incidents.v1`` (the incidents published in the period, by their Kafka
timestamp), ``audit.decisions.v1`` and ``dlq.events.v1`` to their ends, and lists every
incident that is neither audited (each of its children) nor dead-lettered. Exit code 1
when any is. Keys are shown only when they are plain ``<force>:<reference>`` codes;
nothing of an incident's content is.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

from schemas import DeadLetter, PoliceIncident
from schemas.envelope import KEY_PART_PATTERN
from streams.compliance import Accounting, Arrival, account
from streams.incidents import Origin, validate
from streams.settings import Settings
from streams.tools.topic_io import scan
from streams.worker import topics

_PLAIN_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}:" + KEY_PART_PATTERN.strip("^$"))


def collect(settings: Settings, since: datetime, until: datetime) -> Accounting:
    incidents_topic = topics.topic_name(topics.POLICE_INCIDENTS, settings)
    arrivals: list[Arrival] = []
    audited: set[tuple[str, str, str]] = set()
    dead: set[tuple[int, int]] = set()
    now = datetime.now(UTC)

    def incident(record: Any) -> None:
        if not since <= datetime.fromtimestamp(record.timestamp / 1000, UTC) < until:
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
        if data["original_topic"] == incidents_topic:
            dead.add((data["original_partition"], data["original_offset"]))

    for spec, visit, what in (
        (topics.POLICE_INCIDENTS, incident, "incidents"),
        (topics.AUDIT, audit, "audit records"),
        (topics.DEAD_LETTERS, dead_letter, "dead letters"),
    ):
        read = scan(settings, [spec], visit)
        print(f"  read {read:,} {what}", file=sys.stderr, flush=True)
    return account(arrivals, audited, dead)


def render(result: Accounting, since: datetime, until: datetime) -> str:
    lines = [
        f"Incidents published {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} (UTC)",
        f"  arrived                      {result.arrived:>8,}",
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
