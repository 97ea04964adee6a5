"""The front door's duty board: what needs a person now, in one view. Pure: built from what
the console holds (every organisation's notifications and acknowledgements, the inbox
activity, the recent alerts, the review book) and the clock, read once.

- notifications falling due within ``horizon``, per agency, the front door's own first;
- missed today (the deadline passed today and nothing acknowledged it by then), and how
  many from before today are still open;
- notifications sent back as not for the recipient, until the front door routes them by
  hand;
- possible matches waiting, and overdue;
- police-side alerts by force (late reports, late to frontdoor, sequence gaps, batching);
- webhooks given up on (``undeliverable``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schemas import ComplianceAlert
from schemas.enums import Agency, AlertKind
from streams.console import notices, words
from streams.console.activity import Activity
from streams.console.alerts import AlertLog
from streams.console.book import ReviewBook
from streams.inbox import Held, Inbox

POLICE_KINDS = {
    AlertKind.LATE_POLICE_REPORT: "late reports",
    AlertKind.LATE_TO_FRONTDOOR: "late to frontdoor",
    AlertKind.SEQUENCE_GAP: "sequence gaps",
    AlertKind.BATCHING: "batching",
}
REJECT_WORDS = {
    "wrong_recipient": "not for them",
    "wrong_child": "a different child",
    "duplicate": "a duplicate",
    "insufficient_detail": "not enough to act on",
    "other": "another reason",
}
RECENT = timedelta(hours=24)
ROWS = 50  # of each list; the counts say how many more


@dataclass(frozen=True)
class NoticeRow:
    id: str
    recipient: str
    subject: str
    what: str
    deadline: str
    left: str
    overdue: bool
    status: str = ""
    reason: str = ""
    note: str = ""
    when: str = ""


@dataclass
class AgencyDue:
    agency: str
    rows: list[NoticeRow]
    count: int


@dataclass(frozen=True)
class AlertRow:
    kind: str
    about: str
    when: str
    link: str = ""


@dataclass
class ForceAlerts:
    force: str
    counts: dict[str, int]
    rows: list[AlertRow]


@dataclass(frozen=True)
class ReviewRow:
    review_id: str
    incident: str
    left: str
    overdue: bool


@dataclass
class Board:
    as_at: str
    horizon_hours: float
    due: list[AgencyDue] = field(default_factory=list)
    due_count: int = 0
    missed_today: list[NoticeRow] = field(default_factory=list)
    missed_today_count: int = 0
    missed_before_open: int = 0
    rejected: list[NoticeRow] = field(default_factory=list)
    reviews_waiting: int = 0
    reviews_overdue: int = 0
    reviews: list[ReviewRow] = field(default_factory=list)
    police: list[ForceAlerts] = field(default_factory=list)
    undeliverable: list[AlertRow] = field(default_factory=list)


def _row(held: Held, now: datetime, zone: ZoneInfo) -> NoticeRow:
    n = held.notification
    return NoticeRow(
        id=n.notification_id,
        recipient=words.recipient(n.recipient),
        subject=notices.subject(n.payload),
        what=notices.what(n.payload),
        deadline=words.deadline(n.deadline, n.deadline_clock, zone),
        left=words.time_left(n.deadline, now),
        overdue=now > n.deadline,
    )


def _front_door_first(agency: Agency) -> tuple[int, str]:
    return (0 if agency is Agency.SOCIAL_CARE else 1, words.AGENCIES[agency])


def _missed(held: Held) -> bool:
    """Nothing acknowledged it by its deadline."""
    first = held.acknowledged_at
    return first is None or first > held.notification.deadline


def build(
    inbox: Inbox,
    activity: Activity,
    alerts: AlertLog,
    book: ReviewBook,
    now: datetime,
    horizon: timedelta,
    zone: ZoneInfo,
) -> Board:
    board = Board(as_at=words.local(now, zone), horizon_hours=horizon.total_seconds() / 3600)
    today = now.astimezone(zone).date()
    due: dict[Agency, list[Held]] = {}
    missed: list[Held] = []
    rejected: list[Held] = []
    for held in inbox:
        deadline = held.notification.deadline
        if not held.acks and now <= deadline <= now + horizon:
            due.setdefault(held.notification.recipient.agency, []).append(held)
        if deadline <= now and _missed(held):
            if deadline.astimezone(zone).date() == today:
                missed.append(held)
            elif not held.acks:
                board.missed_before_open += 1
        if held.rejected is not None and activity.routed(held.notification.notification_id) is None:
            rejected.append(held)
    for agency in sorted(due, key=_front_door_first):
        rows = sorted(due[agency], key=lambda h: h.order)
        own = [h for h in rows if h.notification.recipient.organisation.endswith(":front-door")]
        ordered = own + [h for h in rows if h not in own]
        board.due.append(
            AgencyDue(
                words.AGENCIES[agency], [_row(h, now, zone) for h in ordered[:ROWS]], len(rows)
            )
        )
        board.due_count += len(rows)
    missed.sort(key=lambda h: h.order)
    board.missed_today_count = len(missed)
    for held in missed[:ROWS]:
        row = _row(held, now, zone)
        late = held.acknowledged_at
        status = (
            f"acknowledged {words.duration(late - held.notification.deadline)} late"
            if late is not None
            else "not acknowledged"
        )
        board.missed_today.append(_with(row, status=status))
    rejected.sort(key=lambda h: h.rejected.acknowledged_at if h.rejected else now)
    for held in rejected:
        ack = held.rejected
        assert ack is not None
        board.rejected.append(
            _with(
                _row(held, now, zone),
                reason=REJECT_WORDS.get(ack.reason_code or "", "another reason"),
                note=ack.note or "",
                when=words.local(ack.acknowledged_at, zone),
            )
        )
    waiting = book.open_pairs(now)
    board.reviews_waiting = len(waiting)
    board.reviews_overdue = sum(1 for p in waiting if now > p.due())
    board.reviews = [
        ReviewRow(
            p.review_id,
            f"{p.match.police_source} {p.match.incident_reference}",
            words.time_left(p.due(), now),
            now > p.due(),
        )
        for p in waiting[:10]
    ]
    board.police = _police(alerts.of(set(POLICE_KINDS), now - RECENT), zone)
    board.undeliverable = [
        AlertRow(
            "undeliverable",
            a.subject.organisation or "an organisation",
            words.local(a.observed_at, zone),
            f"/duty/notifications/{a.subject.notification_id}" if a.subject.notification_id else "",
        )
        for a in alerts.of({AlertKind.UNDELIVERABLE}, now - RECENT)[:ROWS]
    ]
    return board


def _with(row: NoticeRow, **changes: str) -> NoticeRow:
    return NoticeRow(**{**row.__dict__, **changes})


def _about(alert: ComplianceAlert) -> str:
    s = alert.subject
    if alert.kind is AlertKind.SEQUENCE_GAP and s.sequence_from is not None:
        return f"sequence numbers {s.sequence_from} to {s.sequence_to} not received"
    if s.incident_reference:
        return f"incident {s.incident_reference}"
    return "the force's incidents"


def _police(chosen: list[ComplianceAlert], zone: ZoneInfo) -> list[ForceAlerts]:
    by_force: dict[str, list[ComplianceAlert]] = {}
    for alert in chosen:
        by_force.setdefault(alert.subject.police_source or "unknown", []).append(alert)
    forces = []
    for force in sorted(by_force):
        alerts = by_force[force]
        counts = Counter(POLICE_KINDS[a.kind] for a in alerts)
        forces.append(
            ForceAlerts(
                force,
                {kind: counts[kind] for kind in POLICE_KINDS.values() if counts[kind]},
                [
                    AlertRow(POLICE_KINDS[a.kind], _about(a), words.local(a.observed_at, zone))
                    for a in alerts[:10]
                ],
            )
        )
    return forces
