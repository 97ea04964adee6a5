"""Who may say what: an event on a party's own topic must speak for that party. Pure.

The broker decides who may write a topic (one topic per force for incidents, one per
agency for acknowledgements, each writable by that party alone); these checks decide
whether what is on it names that party. A mismatch is never repaired: the event is
dead-lettered (``provenance``) so the party can see and fix what it sent.
"""

from __future__ import annotations

from schemas import Acknowledgement, PoliceIncident
from schemas.deadletter import DeadLetterReason
from schemas.enums import Agency


def foreign_incident(incident: PoliceIncident, force: str) -> DeadLetterReason | None:
    """Why an incident on ``force``'s topic is not that force's, or None if it is."""
    if incident.source == force:
        return None
    return DeadLetterReason(
        location="source",
        error_type="not_this_topics_force",
        message="the incident names another force than the one whose topic it is on",
    )


def foreign_acknowledgement(
    ack: Acknowledgement, agency: Agency | None, recipient: Agency | None
) -> DeadLetterReason | None:
    """Why an acknowledgement may not count: it is on another ``agency``'s topic, or the
    notification went to another ``recipient`` (None: on the shared topic / not yet known)."""
    if agency is not None and ack.agency is not agency:
        return DeadLetterReason(
            location="agency",
            error_type="not_this_topics_agency",
            message="the acknowledgement names another agency than the one whose topic it is on",
        )
    if recipient is not None and ack.agency is not recipient:
        return DeadLetterReason(
            location="notification_id",
            error_type="not_the_recipient",
            message="the notification was sent to another agency",
        )
    return None
