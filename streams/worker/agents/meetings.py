"""``meetings.strategy.v1``: who was invited to strategy meetings and who came.

A meeting counts once, when it is first seen held (the ``meetings`` table remembers
each meeting's last status); the participation ratio is this worker's running count.
"""

from __future__ import annotations

from datetime import datetime

from schemas import StrategyMeeting
from streams import topics
from streams.worker import metrics
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox

HELD = b"held"


class Meetings:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.counts: dict[str, tuple[int, int]] = {}  # party -> (invited, attended)

    def meeting_held(self, out: Outbox, event: Incoming, now: datetime) -> None:
        meeting = self.ctx.accept(out, event, StrategyMeeting, topics.MEETINGS, now)
        if meeting is None:
            return
        table = self.ctx.tables.meetings
        key = meeting.meeting_id.encode()
        if meeting.status != "held" or table.get(key) == HELD:
            table[key] = meeting.status.encode()
            return
        table[key] = HELD
        for party in meeting.invited:
            came = party in meeting.attended
            metrics.MEETING_INVITES.labels(party=party.value).inc()
            if came:
                metrics.MEETING_ATTENDANCE.labels(party=party.value).inc()
            invited, attended = self.counts.get(party.value, (0, 0))
            invited, attended = invited + 1, attended + int(came)
            self.counts[party.value] = (invited, attended)
            metrics.MEETING_PARTICIPATION.labels(party=party.value).set(attended / invited)
