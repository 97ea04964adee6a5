"""``frontdoor.child-history.v2``: each child's recent incidents, for repeat escalation.

Incidents about one child land on different partitions (they have different incident
keys), so every notified child is re-keyed by who the child is; the worker that owns
that key keeps the child's history in the ``child-history`` table and escalates (R12)
when the policy's count is reached.
"""

from __future__ import annotations

import json
from datetime import datetime

from schemas.enums import MatchDecision
from streams import topics
from streams.compliance import track, track_notification
from streams.incidents import Seen, audit_record, escalation, remember
from streams.topics import ChildrenNotified
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox


class History:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        repeat = ctx.policy.repeat_rule
        self.keep_days = repeat.within_days if repeat else 1

    def children_notified(self, out: Outbox, event: Incoming, now: datetime) -> None:
        ctx = self.ctx
        table = ctx.tables.history
        for notified in ChildrenNotified.model_validate_json(event.value or b"").items:
            key = notified.child_key.encode()
            before = _load(table.get(key))
            after = remember(before, notified.seen, self.keep_days)
            table[key] = _dump(after)
            if any(s.incident_key == notified.seen.incident_key for s in before):
                continue  # this incident was counted before (a replay or a rematch)
            escalated = escalation(after, notified, ctx.policy, ctx.calendar, now)
            if escalated is None:
                continue
            ctx.send_notification(out, escalated)
            ctx.track(out, [track(track_notification(escalated, now, notified.incident.source))])
            audit = audit_record(
                notified.incident,
                notified.person_reference,
                "escalated",
                MatchDecision.AUTO if notified.record else None,
                notified.record,
                [escalated],
                now,
            )
            out.send(ctx.name(topics.AUDIT), notified.seen.incident_key, audit)


def _load(raw: bytes | None) -> list[Seen]:
    return [Seen.model_validate(s) for s in json.loads(raw)] if raw else []


def _dump(items: list[Seen]) -> bytes:
    return ("[" + ",".join(s.model_dump_json() for s in items) + "]").encode()
