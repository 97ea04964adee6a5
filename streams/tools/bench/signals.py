"""`frontdoor bench signals` (`make bench`): how soon each planted compliance signal is
flagged after it falls due, on two workers, with no other traffic and then beside 100
incidents/s of it.

Planted, while the background runs: sequence gaps (KENT: one number missing in each run
of ten), batching (a burst of 20 incidents held back three days, from each of six forces,
each incident late to frontdoor too) and front-door notifications (GMP, standard risk,
due 20 s after the report) left unacknowledged (missed) or acknowledged 2 s after their
deadline (late). The background is MPS's ordinary incidents, none due within the run.

A case falls due on the bus's clock: a gap a window after the number beyond it reached
the force's topic (its LogAppendTime), a burst when its 20th incident did, an incident
late to frontdoor when it arrived, a missed notification at its deadline (or when it was
sent, if later), a late acknowledgement when it reached the bus. It is flagged at its
alert's ``observed_at``. Printed per signal: how many, median, p99 and worst, seconds.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import Acknowledgement, ComplianceAlert, Notification
from schemas.enums import AckStatus, Agency, AlertKind
from streams import access, topics
from streams.routing import default_policy_text, load_policy
from streams.settings import Settings
from streams.tools.bench.pipeline import WORK, _all_assigned, _as_worker, _deploy, logging_quiet
from streams.tools.platform import localkafka
from streams.tools.platform.worker_process import WorkerProcess, free_port, start_worker, wait_for
from streams.tools.synthetic import IncidentStream, council, incidents
from streams.topics.io import produce

GAP_WINDOW_S = 6.0
DEADLINE_S = 20.0  # the planted front-door rule's
LATE_BY_S = 2.0
BURST = 20  # the policy's batching minimum
GAP_FORCE, NOTICE_FORCE, BACKGROUND = "KENT", "GMP", "MPS"
BURST_FORCES = ("ESSEX", "SURREY", "SUSSEX", "TVP", "HERTS", "WMP")
GAP_ROUNDS = 8
NOTICES = 8  # half left unacknowledged, half acknowledged late
PARTITIONS = 4


@dataclass
class Planted:
    """Due moments (seconds since the epoch) by case, and the planted notifications."""

    due: dict[tuple[AlertKind, str], float] = field(default_factory=dict)
    notices: set[str] = field(default_factory=set)  # GMP incident references


def policy_text() -> str:
    """The default policy, plus a front-door rule for standard risk due in 20 s; gaps after
    6 s; no repeat escalation (it would add notifications the run does not plant)."""
    text = default_policy_text()
    rule = (
        "  - id: R90\n    description: front door, standard risk, soon (benchmark)\n"
        "    when: {risk_grades: [standard]}\n"
        "    notify:\n      - {agency: social_care, to: front_door}\n"
        f"    deadline: {{clock: hours, amount: {DEADLINE_S / 3600}}}\n\n"
    )
    text = text.replace("rules:\n", "rules:\n" + rule, 1)
    for default, short in (
        ("sequence_gap_minutes: 30", f"sequence_gap_minutes: {GAP_WINDOW_S / 60}"),
        ("repeat_rule:\n  id: R12\n  enabled: true", "repeat_rule:\n  id: R12\n  enabled: false"),
    ):
        if default not in text:
            raise RuntimeError(f"the default policy no longer says {default!r}")
        text = text.replace(default, short)
    return text


def _events(source: str, count: int, start: datetime, span: timedelta, seed: int) -> list[Any]:
    made = incidents(
        IncidentStream(
            seed=seed, source=source, start=start, span=span, invalid_rate=0, late_report_rate=0
        ),
        count,
    )
    return [json.loads(value) for _, value in made.events]


def _key(data: dict[str, Any]) -> bytes:
    return f"{data['source']}:{data['incident_reference']}".encode()


def subject(alert: ComplianceAlert) -> tuple[AlertKind, str]:
    s = alert.subject
    if alert.kind is AlertKind.SEQUENCE_GAP:
        return alert.kind, f"{s.police_source}:{s.sequence_from}-{s.sequence_to}"
    if alert.kind is AlertKind.BATCHING:
        return alert.kind, f"{s.police_source}"
    return alert.kind, f"{s.police_source}:{s.incident_reference}"


class Run:
    """One measurement: two workers, a background at ``rate``, the planted cases."""

    def __init__(self, base: Settings, rate: float, seconds: float) -> None:
        name = f"signals-{int(rate)}-{uuid.uuid4().hex[:6]}"
        (WORK / name).mkdir(parents=True, exist_ok=True)
        policy = WORK / name / "policy.yaml"
        policy.write_text(policy_text())
        self.settings = base.model_copy(
            update={
                "topic_prefix": f"bench.{name}.",
                "app_id": f"frontdoor-bench-{name}",
                "partitions": PARTITIONS,
                "policy_file": policy,
                "state_dir": WORK / name,
            }
        )
        self.name, self.rate, self.seconds = name, rate, seconds
        self.planted = Planted()
        self.now = datetime.now(UTC)

    def workers(self) -> list[WorkerProcess]:
        started = []
        for n in range(2):
            own = self.settings.model_copy(
                update={"web_port": free_port(), "state_dir": WORK / self.name / f"w{n}"}
            )
            started.append(start_worker(_as_worker(own), WORK / f"{self.name}-w{n}.log"))
        return started

    async def offer(self, producer: AIOKafkaProducer) -> int:
        """The background: MPS's incidents at ``rate``, standard risk made medium (so that
        none falls due within the run)."""
        if not self.rate:
            await asyncio.sleep(self.seconds)
            return 0
        count = int(self.rate * self.seconds)
        start = self.now - timedelta(hours=2)
        made = _events(BACKGROUND, count, start, timedelta(hours=1), seed=5)
        name = topics.topic_name(topics.force_incidents(BACKGROUND), self.settings)
        began = time.monotonic()
        for n, data in enumerate(made):
            if data["risk_grade"] == "standard":
                data["risk_grade"] = "medium"
            delay = began + n / self.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await producer.send(name, json.dumps(data).encode(), key=_key(data))
        await producer.flush()
        return count

    async def _publish(
        self, producer: AIOKafkaProducer, items: list[dict[str, Any]]
    ) -> list[float]:
        """Each on its force's topic, awaited: the broker's time for each (LogAppendTime)."""
        sends = [
            await producer.send(
                topics.topic_name(topics.force_incidents(i["source"]), self.settings),
                json.dumps(i).encode(),
                key=_key(i),
            )
            for i in items
        ]
        return [(await s).timestamp / 1000 for s in sends]

    async def plant(self, producer: AIOKafkaProducer) -> None:
        planted, window = self.planted, GAP_WINDOW_S
        kent = _events(
            GAP_FORCE, GAP_ROUNDS * 10, self.now - timedelta(hours=1), timedelta(minutes=30), 7
        )
        notices = _events(NOTICE_FORCE, NOTICES, self.now, timedelta(minutes=1), 8)
        await asyncio.sleep(3)
        for r in range(GAP_ROUNDS):  # a run of ten, its sixth missing
            run = [i for i in kent[r * 10 : r * 10 + 10] if i["sequence"] != r * 10 + 5]
            stamps = await self._publish(producer, run)
            after = run[5]["sequence"]
            planted.due[(AlertKind.SEQUENCE_GAP, f"{GAP_FORCE}:{after - 1}-{after - 1}")] = (
                stamps[5] + window
            )
            if r < len(BURST_FORCES):  # a burst held back three days
                force = BURST_FORCES[r]
                held = _events(
                    force, BURST, self.now - timedelta(days=3), timedelta(hours=1), 9 + r
                )
                stamps = await self._publish(producer, held)
                planted.due[(AlertKind.BATCHING, force)] = sorted(stamps)[BURST - 1]
                for i, at in zip(held, stamps, strict=True):
                    planted.due[
                        (AlertKind.LATE_TO_FRONTDOOR, f"{force}:{i['incident_reference']}")
                    ] = at
            if r < NOTICES:
                data = notices[r]
                data.update(
                    incident_reference=f"CAD-{NOTICE_FORCE}-{r:04d}",  # the streams' collide
                    event_id=f"{NOTICE_FORCE.lower()}-notice-{self.name}-{r}",
                    risk_grade="standard",
                    children=data["children"][:1],
                    reported_at=datetime.now(UTC).isoformat(),
                    occurred_at=(datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
                )
                planted.notices.add(data["incident_reference"])
                await self._publish(producer, [data])
            await asyncio.sleep(max(self.seconds - 10, 10) / GAP_ROUNDS)

    async def acknowledge(self, producer: AIOKafkaProducer) -> None:
        """The planted front-door notifications: the odd ones acknowledged 2 s late."""
        consumer = AIOKafkaConsumer(
            topics.topic_name(topics.NOTIFY[Agency.SOCIAL_CARE], self.settings),
            **self.settings.aiokafka_options(),
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        seen: dict[str, Notification] = {}
        pending: list[asyncio.Task[None]] = []
        give_up = time.monotonic() + self.seconds + 60
        try:
            while len(seen) < NOTICES and time.monotonic() < give_up:
                for messages in (await consumer.getmany(timeout_ms=200)).values():
                    for m in messages:
                        n = Notification.model_validate_json(m.value)
                        if n.incident_reference not in self.planted.notices:
                            continue
                        if n.incident_reference in seen or "R90" not in n.rules:
                            continue
                        seen[n.incident_reference] = n
                        ref = f"{NOTICE_FORCE}:{n.incident_reference}"
                        sent = max(n.deadline, n.produced_at).timestamp()
                        self.planted.due[(AlertKind.MISSED, ref)] = sent
                        if len(seen) % 2 == 0:
                            pending.append(asyncio.create_task(self._late(producer, n, ref)))
            await asyncio.gather(*pending)
        finally:
            await consumer.stop()

    async def _late(self, producer: AIOKafkaProducer, n: Notification, ref: str) -> None:
        when = n.deadline + timedelta(seconds=LATE_BY_S)
        await asyncio.sleep(max((when - datetime.now(UTC)).total_seconds(), 0))
        ack = Acknowledgement(
            event_id=f"ack-{n.notification_id}",
            source=n.recipient.organisation,
            produced_at=when,
            notification_id=n.notification_id,
            agency=n.recipient.agency,
            organisation=n.recipient.organisation,
            status=AckStatus.RECEIVED,
            acknowledged_at=when,
        )
        sent = await producer.send_and_wait(
            topics.topic_name(topics.ACKS, self.settings),
            ack.model_dump_json().encode(),
            key=n.notification_id.encode(),
        )
        self.planted.due[(AlertKind.LATE, ref)] = sent.timestamp / 1000

    async def drive(self) -> int:
        producer = AIOKafkaProducer(
            **self.settings.aiokafka_options(), acks="all", enable_idempotence=True, linger_ms=2
        )
        await producer.start()
        try:
            offered, *_ = await asyncio.gather(
                self.offer(producer), self.plant(producer), self.acknowledge(producer)
            )
        finally:
            await producer.stop()
        return int(offered)

    async def flagged(self, timeout_s: float) -> dict[tuple[AlertKind, str], float]:
        """When each planted case was flagged (its alert's observed_at), waiting for all."""
        consumer = AIOKafkaConsumer(
            topics.topic_name(topics.COMPLIANCE_ALERTS, self.settings),
            **self.settings.aiokafka_options(),
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        found: dict[tuple[AlertKind, str], float] = {}
        deadline = time.monotonic() + timeout_s
        try:
            while not set(self.planted.due) <= set(found) and time.monotonic() < deadline:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    for m in messages:
                        alert = ComplianceAlert.model_validate_json(m.value)
                        found.setdefault(subject(alert), alert.observed_at.timestamp())
        finally:
            await consumer.stop()
        return found


@dataclass
class Row:
    signal: str
    load: str
    planted: int
    flagged: int
    delays: list[float]


def measure(base: Settings, rate: float, seconds: float) -> list[Row]:
    run = Run(base, rate, seconds)
    _deploy(run.settings)
    produce(run.settings, topics.CHILD_RECORDS, council(5, 2_000).events())
    workers = run.workers()
    try:
        for w in workers:
            w.wait_ready(300)
        wait_for(lambda: _all_assigned(workers), 120, "both workers to own partitions")
        load = f"{rate:.0f} incidents/s" if rate else "none"
        print(f"  planting, background {load}, {seconds:.0f} s ...", flush=True)
        asyncio.run(run.drive())
        found = asyncio.run(run.flagged(90))
    finally:
        for w in workers:
            w.stop()
    rows = []
    for kind in (
        AlertKind.SEQUENCE_GAP,
        AlertKind.BATCHING,
        AlertKind.LATE_TO_FRONTDOOR,
        AlertKind.MISSED,
        AlertKind.LATE,
    ):
        cases = [(case, due) for case, due in run.planted.due.items() if case[0] is kind]
        delays = [found[case] - due for case, due in cases if case in found]
        rows.append(Row(kind.value, load, len(cases), len(delays), sorted(delays)))
    return rows


def _table(rows: list[Row]) -> Iterator[str]:
    yield (
        f"  {'signal':<18} {'other traffic':<18} {'planted':>7} {'flagged':>7} "
        f"{'median':>8} {'p99':>8} {'worst':>8}"
    )
    for r in rows:
        if r.delays:
            q = (
                statistics.quantiles(r.delays, n=100, method="inclusive")
                if len(r.delays) > 1
                else [r.delays[0]] * 99
            )
            figures = f"{statistics.median(r.delays):7.2f}s {q[98]:7.2f}s {r.delays[-1]:7.2f}s"
        else:
            figures = f"{'-':>8} {'-':>8} {'-':>8}"
        yield f"  {r.signal:<18} {r.load:<18} {r.planted:>7} {r.flagged:>7} {figures}"


def run(rate: float = 100.0, seconds: float = 60.0) -> int:
    logging_quiet()
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka, access.parties(load_policy(None)))
    base = localkafka.client_settings(kafka, "admin")
    print(
        f"signals benchmark on the local broker {kafka.bootstrap}: two workers, "
        f"{PARTITIONS} partitions; due on the bus's clock, flagged at the alert's observed_at",
        flush=True,
    )
    rows: list[Row] = []
    try:
        rows += measure(base, 0.0, seconds)
        rows += measure(base, rate, seconds)
    finally:
        if not broker.reused:
            localkafka.stop(kafka)
    print()
    for line in _table(rows):
        print(line)
    missing = sum(r.planted - r.flagged for r in rows)
    print(f"\n  {missing} planted case(s) not flagged within 90 s" if missing else "")
    return 1 if missing else 0
