"""Deadlines as data: what is due, what was acknowledged, what was missed or late. Pure.

Everything frontdoor must see happen by a time is a ``Tracked`` item, keyed by an id:

* a **notification** (due: an acknowledgement from its recipient by its deadline);
* a **review** of a possible match (due: a person's decision by ``decide_by``);
* a **watch** on a child named in an incident (due: at least one notification within
  24 hours of the report, the College of Policing "child to notice" practice).

What an incident's outcomes open and close is decided here too (``after_outcomes``):
every notification opens its deadline; a possible match opens a review, which a
re-match or a reviewer's decision closes; a child routed with no notification at all
starts a watch, which a later notification closes.

The functions take ``now`` and return the new state with the alerts to raise; the
worker's deadline agent applies the commands (``apply``) to a changelog-backed table and
a timer asks it to check items that are due, so deadlines survive restarts and each is
flagged once.

A missed notification that is acknowledged later is reported twice, on purpose: a
``missed`` alert when the deadline passes unacknowledged (someone must chase it now), and
a ``late`` alert when the acknowledgement finally comes, saying how late it was. A
notification acknowledged after its deadline but before the scanner noticed gets only
the ``late`` alert. Both carry when frontdoor first sent the notification (``sent_at``)
and whether it was already past its deadline then (``sent_past_deadline``: the incident,
or the council record that let frontdoor match the child, reached frontdoor late, so the
delay is upstream of the agency).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas import Acknowledgement, ComplianceAlert, Notification, PoliceIncident, PossibleMatch
from schemas.compliance import AlertSubject
from schemas.enums import AckStatus, Agency, AlertKind
from schemas.envelope import derived_id
from streams.compliance.alerts import compliance_alert, join_rules
from streams.incidents import ChildOutcome, review_id
from streams.routing import rule_order

Kind = Literal["notification", "review", "watch"]
# An entry nobody will ever close (a notification never acknowledged) is forgotten after
# this long; its missed alert has long been raised.
FORGET_AFTER = timedelta(days=30)


class Tracked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Kind
    incident_reference: str | None = None
    police_source: str | None = None
    person_reference: str | None = None
    agency: Agency | None = None
    rules: list[str] = []
    deadline: datetime | None = None  # None: an acknowledgement came before the notification
    sent_at: datetime | None = None  # a notification's first sending
    registered_at: datetime | None = None
    acked_at: datetime | None = None
    ack_status: AckStatus | None = None
    closed_at: datetime | None = None
    missed_flagged: bool = False
    late_flagged: bool = False

    @property
    def settled(self) -> bool:
        return self.acked_at is not None or self.closed_at is not None

    def due(self, now: datetime) -> bool:
        """Past its deadline, unsettled and not yet flagged: the scanner should check it."""
        return (
            self.deadline is not None
            and not self.settled
            and not self.missed_flagged
            and self.deadline <= now
        )

    def forgettable(self, now: datetime) -> bool:
        if self.kind == "notification":
            done = self.acked_at is not None
        else:
            done = self.closed_at is not None
        since = self.registered_at or self.acked_at or now
        return done or now - since > FORGET_AFTER

    @property
    def sent_past_deadline(self) -> bool | None:
        """A notification frontdoor could only send after its deadline had passed."""
        if self.kind != "notification" or self.sent_at is None or self.deadline is None:
            return None
        return self.sent_at > self.deadline


def _alert(item: Tracked, kind: AlertKind, now: datetime, lateness: timedelta) -> ComplianceAlert:
    subject = AlertSubject(
        notification_id=item.id if item.kind == "notification" else None,
        review_id=item.id if item.kind == "review" else None,
        incident_reference=item.incident_reference,
        police_source=item.police_source,
        person_reference=item.person_reference,
    )
    return compliance_alert(
        kind,
        item.id,
        subject,
        now,
        lateness,
        item.deadline,
        agency=item.agency,
        rule=join_rules(item.rules),
        sent_at=item.sent_at,
        sent_past_deadline=item.sent_past_deadline,
    )


class DeadlineCommand(BaseModel):
    """Internal: start tracking an item, close it, or check it now (keyed by item id)."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["track", "close", "check"]
    id: str
    item: Tracked | None = None


_MISSED = {
    "notification": AlertKind.MISSED,
    "review": AlertKind.REVIEW_OVERDUE,
    "watch": AlertKind.NO_NOTIFICATION,
}


def track_notification(notification: Notification, now: datetime, police_source: str) -> Tracked:
    """``police_source``: the force whose incident it is (a notification does not carry it)."""
    return Tracked(
        id=notification.notification_id,
        kind="notification",
        incident_reference=notification.incident_reference,
        police_source=police_source,
        person_reference=notification.person_reference,
        agency=notification.recipient.agency,
        rules=notification.rules,
        deadline=notification.deadline,
        sent_at=notification.produced_at,
        registered_at=now,
    )


def track_review(review: PossibleMatch, now: datetime) -> Tracked:
    return Tracked(
        id=review.review_id,
        kind="review",
        incident_reference=review.incident_reference,
        police_source=review.police_source,
        person_reference=review.person_reference,
        deadline=review.decide_by,
        registered_at=now,
    )


def watch_id(police_source: str, incident_reference: str, person_reference: str) -> str:
    return derived_id("wch", police_source, incident_reference, person_reference)


def track_watch(
    police_source: str,
    incident_reference: str,
    person_reference: str,
    deadline: datetime,
    now: datetime,
) -> Tracked:
    return Tracked(
        id=watch_id(police_source, incident_reference, person_reference),
        kind="watch",
        incident_reference=incident_reference,
        police_source=police_source,
        person_reference=person_reference,
        deadline=deadline,
        registered_at=now,
    )


def register(
    held: Tracked | None, new: Tracked, now: datetime
) -> tuple[Tracked, list[ComplianceAlert]]:
    """Start tracking; a re-sent notification keeps its earliest deadline and all rules."""
    if held is None:
        return new, []
    merged = held.model_copy(
        update={
            "kind": new.kind,
            "incident_reference": new.incident_reference,
            "police_source": new.police_source or held.police_source,
            "person_reference": new.person_reference or held.person_reference,
            "agency": new.agency,
            "rules": sorted(set(held.rules) | set(new.rules), key=rule_order),
            "deadline": min(d for d in (held.deadline, new.deadline) if d is not None)
            if (held.deadline or new.deadline)
            else None,
            "sent_at": min(s for s in (held.sent_at, new.sent_at) if s is not None)
            if (held.sent_at or new.sent_at)
            else None,
            "registered_at": held.registered_at or new.registered_at,
        }
    )
    return _late_if_acked_after(merged, now)


def acknowledge(
    held: Tracked | None, ack: Acknowledgement, now: datetime
) -> tuple[Tracked, list[ComplianceAlert]]:
    """The first acknowledgement counts; later ones change nothing."""
    item = held or Tracked(id=ack.notification_id, kind="notification", agency=ack.agency)
    if item.acked_at is not None:
        return item, []
    item = item.model_copy(update={"acked_at": ack.acknowledged_at, "ack_status": ack.status})
    return _late_if_acked_after(item, now)


def _late_if_acked_after(item: Tracked, now: datetime) -> tuple[Tracked, list[ComplianceAlert]]:
    if (
        item.acked_at is None
        or item.deadline is None
        or item.late_flagged
        or item.acked_at <= item.deadline
    ):
        return item, []
    flagged = item.model_copy(update={"late_flagged": True})
    return flagged, [_alert(flagged, AlertKind.LATE, now, item.acked_at - item.deadline)]


def close(held: Tracked | None, now: datetime) -> Tracked | None:
    """A review decided or a watch satisfied."""
    if held is None or held.closed_at is not None:
        return held
    return held.model_copy(update={"closed_at": now})


def check(held: Tracked, now: datetime) -> tuple[Tracked, list[ComplianceAlert]]:
    """Flag an unsettled item whose deadline has passed, once."""
    if not held.due(now):
        return held, []
    assert held.deadline is not None
    flagged = held.model_copy(update={"missed_flagged": True})
    return flagged, [_alert(flagged, _MISSED[held.kind], now, now - held.deadline)]


# -- what opens and closes, as commands for the deadlines table ------------------------


def track(item: Tracked) -> DeadlineCommand:
    return DeadlineCommand(op="track", id=item.id, item=item)


def close_command(item_id: str) -> DeadlineCommand:
    return DeadlineCommand(op="close", id=item_id)


def check_command(item_id: str) -> DeadlineCommand:
    return DeadlineCommand(op="check", id=item_id)


def watch_due(incident: PoliceIncident, within_hours: float) -> datetime:
    """When a child named in ``incident`` must have produced a notification."""
    return incident.reported_at + timedelta(hours=within_hours)


def after_outcomes(
    incident: PoliceIncident,
    outcomes: Iterable[ChildOutcome],
    now: datetime,
    watch_hours: float,
) -> list[DeadlineCommand]:
    """The deadlines an incident's outcomes open and close, in order."""
    commands: list[DeadlineCommand] = []
    for outcome in outcomes:
        stage = outcome.audit.stage
        commands += [
            track(track_notification(n, now, incident.source)) for n in outcome.notifications
        ]
        if outcome.review is not None:
            commands.append(track(track_review(outcome.review, now)))
        elif stage == "rematched":  # a record arrived: the review, if any, is moot
            commands.append(close_command(review_id(incident, outcome.child)))
        ref = outcome.child.person_reference
        if not outcome.notifications and stage == "routed":
            due = watch_due(incident, watch_hours)
            watch = track_watch(incident.source, incident.incident_reference, ref, due, now)
            commands.append(track(watch))
        elif outcome.notifications and stage != "routed":
            commands.append(
                close_command(watch_id(incident.source, incident.incident_reference, ref))
            )
    return commands


def apply(
    held: Tracked | None, command: DeadlineCommand, now: datetime
) -> tuple[Tracked | None, list[ComplianceAlert]]:
    """The item to keep after ``command`` (None: forget it) and the alerts to raise."""
    if command.op == "track" and command.item is not None:
        return register(held, command.item, now)
    if command.op == "close":
        return close(held, now), []
    if held is None:
        return None, []
    item, alerts = check(held, now)
    return (None if item.forgettable(now) else item), alerts


# -- open work, for the duty manager's gauges ------------------------------------------

DUE_WITHIN = (("1h", timedelta(hours=1)), ("4h", timedelta(hours=4)), ("24h", timedelta(hours=24)))


@dataclass(frozen=True)
class OpenWork:
    """One agency's unacknowledged notifications as of a moment."""

    open: int
    due_within: dict[str, int]  # "1h", "4h", "24h": due after now and within that long
    overdue: int
    oldest_age_s: float  # since registered, 0 when none
    oldest_past_deadline_s: float  # 0 when none is overdue


def open_work(items: list[Tracked], now: datetime) -> OpenWork:
    deadlines = [i.deadline for i in items if i.deadline is not None]
    past = [(now - d).total_seconds() for d in deadlines if d <= now]
    ages = [(now - i.registered_at).total_seconds() for i in items if i.registered_at]
    return OpenWork(
        open=len(items),
        due_within={
            label: sum(1 for d in deadlines if now < d <= now + span) for label, span in DUE_WITHIN
        },
        overdue=len(past),
        oldest_age_s=max(ages, default=0),
        oldest_past_deadline_s=max(past, default=0),
    )
