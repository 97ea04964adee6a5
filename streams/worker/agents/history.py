"""``frontdoor.child-history.v2``: each child's recent incidents, for repeat escalation.

Incidents about one child land on different partitions (they have different incident
keys), so every notified child is re-keyed by who the child is; the worker that owns
that key keeps the child's history in the ``child-history`` table and escalates (R12)
each incident whose window reaches the policy's count, in whatever order the child's
incidents arrive (``streams.incidents.remember``).
"""

from __future__ import annotations

import json
from datetime import datetime

from schemas.enums import MatchDecision
from streams import topics
from streams.compliance import track, track_notification
from streams.incidents import ChildNotified, Seen, audit_record, escalation, remember
from streams.topics import ChildrenNotified
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox


class History:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx

    def children_notified(self, out: Outbox, event: Incoming, now: datetime) -> None:
        ctx = self.ctx
        table = ctx.tables.history
        for notified in ChildrenNotified.model_validate_json(event.value or b"").items:
            key = notified.child_key.encode()
            before = _load(table.get(key))
            kept = remember(before, notified, ctx.policy.repeat_rule, now)
            if kept.history is not before:  # a replay changes nothing: no changelog write
                table[key] = _dump(kept.history)
            for due in kept.escalate:  # this one, or one reported later that arrived earlier
                self._escalate(out, due, now)

    def _escalate(self, out: Outbox, due: ChildNotified, now: datetime) -> None:
        ctx = self.ctx
        escalated = escalation(due, ctx.policy, ctx.calendar, now)
        ctx.send_notification(out, escalated)
        ctx.track(out, [track(track_notification(escalated, now, due.incident.source))])
        audit = audit_record(
            due.incident,
            due.person_reference,
            "escalated",
            MatchDecision.AUTO if due.record else None,
            due.record,
            [escalated],
            now,
        )
        out.send(ctx.name(topics.AUDIT), due.incident.key, audit)


def _load(raw: bytes | None) -> list[Seen]:
    return [Seen.model_validate(s) for s in json.loads(raw)] if raw else []


def _dump(items: list[Seen]) -> bytes:
    """Where nothing waits, as before R12 kept waiting incidents (smaller, and readable
    either way)."""
    return ("[" + ",".join(s.model_dump_json(exclude=_unset(s)) for s in items) + "]").encode()


def _unset(seen: Seen) -> set[str]:
    return {name for name in ("escalated", "waiting") if not getattr(seen, name)}
