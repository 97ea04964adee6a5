"""The incident core: validate, match then route, reviews, re-matching, history. Pure.

Bytes become a validated event or a dead letter with its reasons (``validate``); each
child of an incident is matched and routed (``process_incident``); children still
waiting are kept as a ``PendingIncident`` until a reviewer decides
(``apply_review_decision``; what a pair holds back and whether it needs four eyes:
``held_back``, ``needs_second_reviewer``) or a council record arrives (``rematch``); a child's
history across incidents drives repeat escalation (``escalation``, rule R12); an event
on a party's own topic must name that party (``foreign_incident``,
``foreign_acknowledgement``).
"""

from streams.incidents.history import ChildNotified, Seen, escalation, remember
from streams.incidents.pipeline import (
    ChildOutcome,
    PendingChild,
    PendingIncident,
    apply_review_decision,
    audit_record,
    child_key,
    decide,
    pending_after,
    process_incident,
    rematch,
    review_id,
)
from streams.incidents.provenance import foreign_acknowledgement, foreign_incident
from streams.incidents.reviews import Held, earliest_held, held_back, needs_second_reviewer
from streams.incidents.validation import (
    Origin,
    Rejected,
    bounded_key,
    dead_letter_for,
    parse_json,
    validate,
)

__all__ = [
    "ChildNotified",
    "ChildOutcome",
    "Held",
    "Origin",
    "PendingChild",
    "PendingIncident",
    "Rejected",
    "Seen",
    "apply_review_decision",
    "audit_record",
    "bounded_key",
    "child_key",
    "dead_letter_for",
    "decide",
    "earliest_held",
    "escalation",
    "foreign_acknowledgement",
    "foreign_incident",
    "held_back",
    "needs_second_reviewer",
    "parse_json",
    "pending_after",
    "process_incident",
    "rematch",
    "remember",
    "review_id",
    "validate",
]
