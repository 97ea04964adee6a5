"""Deadlines and acknowledgements: what must happen by when, and alerts when it does not.

Acknowledgements (``notify.acks.v1``) and deadline commands (``frontdoor.deadlines.v2``)
share one agent: both are keyed by the item id and co-partitioned, so one worker owns
each deadline. Two timers on the worker's clock look only at partitions this worker
owns: four times a second the items it wrote whose deadline has passed (a due-time
heap), and every 15 s the whole table (open-work gauges, forgetting, items recovered
from the changelog after a restart or a rebalance, which the heap does not know yet).
"""

from __future__ import annotations

import asyncio
import heapq
from datetime import datetime

from schemas import Acknowledgement
from schemas.deadletter import DeadLetterReason
from schemas.enums import Agency
from streams import topics
from streams.compliance import Tracked, acknowledge, apply, check_command, open_work
from streams.incidents import dead_letter_for, foreign_acknowledgement
from streams.topics import DeadlineCommands
from streams.worker import metrics
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox, partition_of

SCAN_SLICE = 2_000  # items a table walk looks at before letting other work run


class Deadlines:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.table = ctx.tables.deadlines
        # Items this worker wrote, by deadline: the 1 s check pops only what has come due.
        self.due: list[tuple[datetime, str]] = []
        # Parsed items by key, with their partition and raw bytes (re-parsed on change).
        self.parsed: dict[bytes, tuple[int, bytes, Tracked]] = {}
        self.check_requested: set[str] = set()

    def load(self, key: str) -> Tracked | None:
        raw = self.table.get(key.encode())
        return Tracked.model_validate_json(raw) if raw else None

    def store(self, key: str, item: Tracked | None) -> None:
        if item is None:
            if self.table.get(key.encode()) is not None:
                del self.table[key.encode()]
            return
        self.table[key.encode()] = item.model_dump_json().encode()
        if item.deadline is not None and not item.settled and not item.missed_flagged:
            heapq.heappush(self.due, (item.deadline, key))

    # -- frontdoor.deadlines.v2 and notify.acks.v1
    def deadline_event(self, out: Outbox, event: Incoming, now: datetime) -> None:
        ctx = self.ctx
        if event.topic == ctx.name(topics.ACKS):
            self.acknowledged(out, event, now)
            return
        for command in DeadlineCommands.model_validate_json(event.value or b"").items:
            item, alerts = apply(self.load(command.id), command, now)
            if command.op == "check":
                self.check_requested.discard(command.id)
            self.store(command.id, item)
            ctx.raise_alerts(out, alerts)

    def acknowledged(self, out: Outbox, event: Incoming, now: datetime) -> None:
        ctx = self.ctx
        ack = ctx.accept(out, event, Acknowledgement, topics.ACKS, now)
        if ack is None:
            return
        if event.key != ack.notification_id.encode():
            reason = DeadLetterReason(
                location="(key)",
                error_type="key_mismatch",
                message="the record key must be the notification_id",
            )
            letter = dead_letter_for(event.value or b"", event.origin, now, "schema", [reason])
            ctx.dead_letter(out, topics.ACKS, event.key, letter)
            return
        held = self.load(ack.notification_id)
        recipient = held.agency if held is not None and held.kind == "notification" else None
        foreign = foreign_acknowledgement(ack, None, recipient)
        if foreign is not None:  # an agency acknowledging what was sent to another
            letter = dead_letter_for(event.value or b"", event.origin, now, "provenance", [foreign])
            ctx.dead_letter(out, topics.ACKS, event.key, letter)
            return
        item, alerts = acknowledge(held, ack, now)
        if held is None or held.acked_at is None:
            agency = ack.agency.value
            metrics.ACKNOWLEDGEMENTS.labels(agency=agency, status=ack.status.value).inc()
            if item.registered_at is not None:
                waited = (ack.acknowledged_at - item.registered_at).total_seconds()
                metrics.ACK_SECONDS.labels(agency=agency).observe(max(waited, 0))
        self.store(ack.notification_id, item)
        ctx.raise_alerts(out, alerts)

    # -- timers
    def request_check(self, out: Outbox, item_id: str) -> None:
        if item_id not in self.check_requested:
            self.check_requested.add(item_id)
            self.ctx.track(out, [check_command(item_id)])

    async def check_due(self) -> None:
        """Ask for a check of every item whose deadline has passed (flagged within ~1 s)."""
        ctx = self.ctx
        now = ctx.clock()
        mine = ctx.owned(topics.DEADLINES)
        out = ctx.outbox()
        while self.due and self.due[0][0] <= now:
            _, key = heapq.heappop(self.due)
            item = self.load(key)
            if (
                item is not None
                and item.due(now)
                and partition_of(key.encode(), ctx.settings.partitions) in mine
            ):
                self.request_check(out, key)  # the agent re-reads the item and decides
        await ctx.flush(out)

    async def scan_deadlines(self) -> None:
        """Walk every item this worker owns: open-work gauges, forgetting, and items
        recovered from the changelog that the due-time heap does not know yet."""
        ctx = self.ctx
        now = ctx.clock()
        mine = ctx.owned(topics.DEADLINES)
        open_by: dict[Agency, list[Tracked]] = {agency: [] for agency in Agency}
        awaiting_review = 0
        out = ctx.outbox()
        for n, (raw_key, raw) in enumerate(list(self.table.items())):
            if n % SCAN_SLICE == SCAN_SLICE - 1:
                await asyncio.sleep(0)  # a long walk must not hold up incidents
            partition, item = self._parse(raw_key, raw)
            if partition not in mine:
                continue
            if item.kind == "notification" and not item.settled and item.agency is not None:
                open_by[item.agency].append(item)
            elif item.kind == "review" and not item.settled:
                awaiting_review += 1
            if item.due(now) or item.forgettable(now):
                self.request_check(out, item.id)
        for gone in set(self.parsed) - set(self.table.keys()):
            self.parsed.pop(gone, None)
        metrics.REVIEWS_AWAITING.set(awaiting_review)
        for agency, items in open_by.items():
            _set_open_work_gauges(agency.value, items, now)
        await ctx.flush(out)

    def _parse(self, raw_key: bytes, raw: bytes) -> tuple[int, Tracked]:
        """Partition and item, parsed (and the key hashed: murmur2 is pure Python) once
        per change."""
        cached = self.parsed.get(raw_key)
        if cached and cached[1] == raw:
            return cached[0], cached[2]
        partition = partition_of(raw_key, self.ctx.settings.partitions)
        item = Tracked.model_validate_json(raw)
        self.parsed[raw_key] = (partition, raw, item)
        return partition, item


def _set_open_work_gauges(agency: str, items: list[Tracked], now: datetime) -> None:
    work = open_work(items, now)
    metrics.OPEN_NOTIFICATIONS.labels(agency=agency).set(work.open)
    for within, count in work.due_within.items():
        metrics.DUE_SOON.labels(agency=agency, within=within).set(count)
    metrics.DUE_SOON.labels(agency=agency, within="overdue").set(work.overdue)
    metrics.OLDEST_PENDING.labels(agency=agency).set(work.oldest_age_s)
    metrics.OLDEST_PAST_DEADLINE.labels(agency=agency).set(work.oldest_past_deadline_s)
