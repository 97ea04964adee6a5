"""The demo's simulated day: what the force, the agencies, the reviewer and the council do
as simulated time passes, each a named step of one loop (``Day.play``).

The force reports each incident when its ``reported_at`` comes (every other valid one
over HTTPS, the rest and the invalid ones on its own topic; two never arrive); the
agencies acknowledge what they are sent (most on time, some late, some never; the front
door over HTTPS); the reviewer decides each possible match two hours on, as a careful
person would; the council creates records late for a few children it did not know.
"""

from __future__ import annotations

import heapq
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import AuditRecord, Notification, PoliceIncident, PossibleMatch
from schemas.police import incident_key
from streams import topics
from streams.clock import Clock
from streams.incidents import Origin, validate
from streams.settings import Settings
from streams.tools.demo.edge import DemoEdge
from streams.tools.synthetic import COUNCIL, DEMO_DAY, PERSON_FIELDS, Incidents

TAIL = timedelta(hours=30)  # after the day: deadlines pass, late acknowledgements arrive
END = DEMO_DAY + timedelta(days=1) + TAIL
LOST = 2  # incidents the force never delivers (sequence gaps)
HTTPS_ACK = "https"  # a scheduled acknowledgement the gateway is asked to make
LATE_RECORDS = 10
LATE_RECORDS_AT = DEMO_DAY + timedelta(hours=20)
ON_TIME, LATE = 0.82, 0.10  # the rest are never acknowledged
REVIEWER_TAKES = timedelta(hours=2)
FOR_PEOPLE = 0.25  # of the possible matches, left for people to settle in the console

Scheduled = tuple[datetime, str, bytes, bytes]  # (when, topic or HTTPS_ACK, key, value)


def say(label: str, text: str) -> None:
    print(f"  {label:<11} {text}", flush=True)


@dataclass
class Played:
    published: int = 0
    sent: list[int] = field(default_factory=list)  # indexes of the incidents published
    lost: list[int] = field(default_factory=list)
    acks: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    late_records: int = 0


def would_confirm(reasons: list[str]) -> bool:
    """As a careful reviewer would: the names agree, nearly at least (a twin shares the
    family name and date of birth, never the given name), and an agreeing NHS number or
    date of birth; a date a digit off only with the address or school agreeing too (an
    NHS number alone, all else different, is someone's error; a stranger may share a
    given name and date of birth)."""
    named = "family:disagree" not in reasons and any(
        r.startswith("given:") and r != "given:disagree" for r in reasons
    )
    placed = "postcode:full" in reasons or "school:agree" in reasons
    dated = "dob:exact" in reasons or "nhs:agree" in reasons
    return named and (dated or ("dob:one_digit" in reasons and placed))


class Day:
    """The parties around frontdoor for one simulated day, on the demo's topics."""

    def __init__(
        self, settings: Settings, clock: Clock, day: Incidents, seed: int, edge: DemoEdge
    ) -> None:
        rng = random.Random(seed)
        self.settings, self.clock, self.day, self.seed, self.edge = settings, clock, day, seed, edge
        self.played = Played(
            lost=sorted(rng.sample(range(len(day.events) // 4, len(day.events)), LOST))
        )
        self.name = {spec.name: topics.topic_name(spec, settings) for spec in topics.ALL}
        self.scheduled: list[tuple[datetime, int, str, bytes, bytes]] = []  # a heap
        self.order = 0  # ties in the heap go in the order things were scheduled
        self.seen: set[str] = set()  # notification ids an agency has already
        self.unknown: list[tuple[str, str]] = []  # (incident, person) references not matched
        self.upcoming = 0  # index of the next incident the force will report
        self.next_progress = DEMO_DAY

    async def play(self) -> Played:
        """Until the simulated period ends: report, respond, carry out, then the rest."""
        options = self.settings.aiokafka_options()
        self.producer = AIOKafkaProducer(**options, acks="all", enable_idempotence=True)
        watched = [*topics.NOTIFY.values(), topics.REVIEW_MATCHES, topics.AUDIT]
        self.consumer = AIOKafkaConsumer(
            *(self.name[s.name] for s in watched),
            **options,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await self.producer.start()
        await self.consumer.start()
        await self.edge.open()
        try:
            while (now := self.clock()) < END:
                await self.report_incidents(now)
                await self.read_and_respond()
                await self.carry_out(now)
                await self.create_late_records(now)
                self.show_progress(now)
            await self.producer.flush()
        finally:
            await self.edge.close()
            await self.consumer.stop()
            await self.producer.stop()
        return self.played

    async def report_incidents(self, now: datetime) -> None:
        """The force reports every incident whose time has come, on its own topic or over
        HTTPS; the lost ones never arrive."""
        lost = set(self.played.lost)
        events, reported = self.day.events, self.day.reported
        while self.upcoming < len(events) and reported[self.upcoming] <= now:
            if self.upcoming not in lost:
                key, value = events[self.upcoming]
                await self._report(self.upcoming, key, value, now)
                self.played.published += 1
                self.played.sent.append(self.upcoming)
            self.upcoming += 1

    async def _report(self, index: int, key: bytes, value: bytes, now: datetime) -> None:
        force = key.split(b":", 1)[0].decode()  # each force on its own topic
        valid = isinstance(validate(PoliceIncident, value, Origin("demo"), now), PoliceIncident)
        if valid and index % 2 == 0 and await self.edge.publish(force, value) == 202:
            return
        own = topics.topic_name(topics.force_incidents(force), self.settings)
        await self.producer.send(own, value, key=key)

    async def read_and_respond(self) -> None:
        """Read what frontdoor sent and schedule what each party will do about it."""
        batch = await self.consumer.getmany(timeout_ms=100)
        for messages in batch.values():
            for message in messages:
                for item in self.respond(message.topic, message.value):
                    self._schedule(item)

    def respond(self, topic: str, value: bytes) -> list[Scheduled]:
        """What the agencies and the reviewer will do about one message, and when."""
        if topic == self.name[topics.AUDIT.name]:
            self._note_unknown(AuditRecord.model_validate_json(value))
            return []
        if topic == self.name[topics.REVIEW_MATCHES.name]:
            decided = self._review_decision(PossibleMatch.model_validate_json(value))
            return [decided] if decided else []
        return self._acknowledgement(Notification.model_validate_json(value))

    def _note_unknown(self, audit: AuditRecord) -> None:
        decision = audit.child.decision
        if audit.stage == "routed" and decision and decision.value == "none":
            self.unknown.append((audit.incident_reference, audit.child.person_reference))

    def _review_decision(self, review: PossibleMatch) -> Scheduled | None:
        """The simulated reviewer's decision, two hours on; a quarter are left for people
        (the console)."""
        if random.Random(f"{self.seed}:{review.review_id}").random() < FOR_PEOPLE:
            self.played.decisions["left for people"] += 1
            return None
        best = review.candidates[0]
        confirm = would_confirm(best.reasons)
        self.played.decisions["confirm" if confirm else "reject"] += 1
        at = review.produced_at + REVIEWER_TAKES
        decision = {
            "event_id": f"decision-{review.review_id}",
            "source": COUNCIL,
            "produced_at": review.produced_at.isoformat(),
            "review_id": review.review_id,
            "decision": "confirm" if confirm else "reject",
            "record_id": best.record_id if confirm else None,
            "decided_by": "demo-reviewer",
            # four eyes (the policy's review_four_eyes): a second reviewer approved it
            "approved_by": "demo-reviewer-2" if confirm else None,
            "decided_at": at.isoformat(),
        }
        key = incident_key(review.police_source, review.incident_reference).encode()
        return at, self.name[topics.REVIEW_DECISIONS.name], key, json.dumps(decision).encode()

    def _acknowledgement(self, notification: Notification) -> list[Scheduled]:
        ident = notification.notification_id
        if ident in self.seen:
            return []  # re-sent with the same id: the agency has it already
        self.seen.add(ident)
        at = self._acknowledged_at(notification)
        if at is None:
            return []
        recipient = notification.recipient
        if recipient.organisation == self.edge.front_door:
            return [(at, HTTPS_ACK, ident.encode(), b"")]
        ack = {
            "event_id": f"ack-{ident}",
            "source": f"{recipient.agency.value}-gateway",
            "produced_at": at.isoformat(),
            "notification_id": ident,
            "agency": recipient.agency.value,
            "organisation": recipient.organisation,
            "status": "received",
            "acknowledged_at": at.isoformat(),
        }
        topic = self.name[topics.AGENCY_ACKS[recipient.agency].name]
        return [(at, topic, ident.encode(), json.dumps(ack).encode())]

    def _acknowledged_at(self, notification: Notification) -> datetime | None:
        """When the agency will acknowledge: on time, late, or never (None)."""
        fate = random.Random(f"{self.seed}:{notification.notification_id}")
        roll = fate.random()
        window = notification.deadline - notification.produced_at
        if roll < ON_TIME and window > timedelta(0):
            self.played.acks["on time"] += 1
            return notification.produced_at + window * fate.uniform(0.05, 0.9)
        if roll < ON_TIME + LATE or window <= timedelta(0):
            self.played.acks["late"] += 1
            late_by = timedelta(hours=fate.uniform(0.2, 8))
            return max(notification.deadline, notification.produced_at) + late_by
        self.played.acks["never"] += 1
        return None

    async def carry_out(self, now: datetime) -> None:
        """Send everything scheduled up to now; an acknowledgement the gateway does not
        hold yet (404) is tried again ten simulated minutes later."""
        while self.scheduled and self.scheduled[0][0] <= now:
            _, _, topic, key, value = heapq.heappop(self.scheduled)
            if topic != HTTPS_ACK:
                await self.producer.send(topic, value, key=key)
            elif await self.edge.acknowledge(key.decode()) == 404:
                self._schedule((now + timedelta(minutes=10), topic, key, value))

    async def create_late_records(self, now: datetime) -> None:
        if now < LATE_RECORDS_AT or self.played.late_records:
            return
        for key, value in late_records(self.day, self.unknown):
            await self.producer.send(self.name[topics.CHILD_RECORDS.name], value, key=key)
            self.played.late_records += 1

    def show_progress(self, now: datetime) -> None:
        if now < self.next_progress:
            return
        say(
            "simulated",
            f"{now:%a %d %b %H:%M}: {self.played.published} incidents "
            f"published, {sum(self.played.acks.values())} acknowledgements",
        )
        self.next_progress += timedelta(hours=12)

    def _schedule(self, item: Scheduled) -> None:
        self.order += 1
        heapq.heappush(self.scheduled, (item[0], self.order, *item[1:]))


def late_records(day: Incidents, unknown: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Records the council creates for children police told it about but it did not know."""
    children: dict[tuple[str, str], dict[str, Any]] = {}
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
