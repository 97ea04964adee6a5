"""Rule hits to notifications: one per (incident, child, recipient), deterministic ids. Pure.

When several rules name the same recipient they merge into one notification with the
earliest deadline and every rule listed, so an agency is told once, by the soonest time.
"""

from __future__ import annotations

from datetime import datetime

from schemas import ChildRecord, InvolvedChild, Notification, PoliceIncident
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


def notifications(
    incident: PoliceIncident,
    child: InvolvedChild,
    record: ChildRecord | None,
    hits: list[RuleHit],
    now: datetime,
    published_at: datetime | None = None,
    revision: int = 0,
) -> list[Notification]:
    made = []
    for recipient, group in merge(hits).items():
        first = min(group, key=lambda h: (h.deadline, rule_order(h.rule)))
        nid = notification_id(
            incident.source,
            incident.incident_reference,
            child.person_reference,
            recipient.agency,
            recipient.organisation,
        )
        made.append(
            Notification(
                event_id=nid,
                source=FRONTDOOR_SOURCE,
                produced_at=now,
                notification_id=nid,
                revision=revision,
                incident_reference=incident.incident_reference,
                person_reference=child.person_reference,
                recipient=recipient,
                rules=sorted({h.rule for h in group}, key=rule_order),
                deadline=first.deadline,
                deadline_clock=first.clock,
                incident_published_at=published_at,
                payload=payload_for(recipient.agency, incident, child, record),
            )
        )
    return sorted(made, key=lambda n: (n.deadline, n.notification_id))
