"""Rule hits to notifications: one per (incident, child, recipient), deterministic ids. Pure.

When several rules name the same recipient they merge into one notification with the
earliest deadline and every rule listed, so an agency is told once, by the soonest time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas import ChildRecord, InvolvedChild, Notification, PoliceIncident
from schemas.enums import DeadlineClock
from schemas.envelope import FRONTDOOR_SOURCE
from schemas.notification import Recipient, notification_id
from streams.routing.minimisation import payload_for
from streams.routing.rules import RuleHit


def merge(hits: list[RuleHit]) -> dict[Recipient, list[RuleHit]]:
    by_recipient: dict[Recipient, list[RuleHit]] = {}
    for hit in hits:
        by_recipient.setdefault(hit.recipient, []).append(hit)
    return by_recipient


def rule_order(rule: str) -> tuple[int, str]:
    """R2 before R10."""
    digits = "".join(c for c in rule if c.isdigit())
    return (int(digits) if digits else 10**6, rule)


@dataclass(frozen=True, slots=True)
class Addressed:
    """Who is told about one child, under which rules and by when: a notification
    before its content (a policy what-if needs no more)."""

    notification_id: str
    recipient: Recipient
    rules: tuple[str, ...]  # in rule order
    deadline: datetime
    clock: DeadlineClock


def addressed(
    incident: PoliceIncident, child: InvolvedChild, hits: list[RuleHit]
) -> list[Addressed]:
    """One per recipient: every rule that names it, the earliest deadline (the first rule
    at a tie gives the clock)."""
    made = []
    for recipient, group in merge(hits).items():
        first = min(group, key=lambda h: (h.deadline, rule_order(h.rule)))
        made.append(
            Addressed(
                notification_id(
                    incident.source,
                    incident.incident_reference,
                    child.person_reference,
                    recipient.agency,
                    recipient.organisation,
                ),
                recipient,
                tuple(sorted({h.rule for h in group}, key=rule_order)),
                first.deadline,
                first.clock,
            )
        )
    return made


def notifications(
    incident: PoliceIncident,
    child: InvolvedChild,
    record: ChildRecord | None,
    hits: list[RuleHit],
    now: datetime,
    published_at: datetime | None = None,
    revision: int = 0,
) -> list[Notification]:
    made = [
        Notification(
            event_id=a.notification_id,
            source=FRONTDOOR_SOURCE,
            produced_at=now,
            notification_id=a.notification_id,
            revision=revision,
            incident_reference=incident.incident_reference,
            person_reference=child.person_reference,
            recipient=a.recipient,
            rules=list(a.rules),
            deadline=a.deadline,
            deadline_clock=a.clock,
            incident_published_at=published_at,
            payload=payload_for(a.recipient.agency, incident, child, record),
        )
        for a in addressed(incident, child, hits)
    ]
    return sorted(made, key=lambda n: (n.deadline, n.notification_id))
