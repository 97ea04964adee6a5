"""Who must hear about a child, by when, and what each may see. Pure.

The policy (rules R1-R12, deadlines, calendar, directory) is validated data; ``route``
evaluates it for one child whose match decision is known, ``notifications`` turns the
rules that fired into one minimised notification per recipient with a deterministic id.
"""

from streams.routing.calendars import LONDON, Calendar, DateRange
from streams.routing.dispatch import Addressed, addressed, notifications, rule_order
from streams.routing.minimisation import fields_shared, payload_for
from streams.routing.policy import (
    Policy,
    PolicyError,
    RepeatRule,
    Signals,
    default_policy_text,
    load_policy,
    parse_policy,
)
from streams.routing.rules import HELD_FOR_REVIEW, ChildContext, RuleHit, deadline_for, route

__all__ = [
    "HELD_FOR_REVIEW",
    "LONDON",
    "Addressed",
    "Calendar",
    "ChildContext",
    "DateRange",
    "Policy",
    "PolicyError",
    "RepeatRule",
    "RuleHit",
    "Signals",
    "addressed",
    "deadline_for",
    "default_policy_text",
    "fields_shared",
    "load_policy",
    "notifications",
    "parse_policy",
    "payload_for",
    "route",
    "rule_order",
]
